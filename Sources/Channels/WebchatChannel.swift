import PurserCore

extension Channel {
    public static let webchat = Channel(declaring: "webchat")
}

extension InputFormat {
    /// The webchat webhook body: the normalized message JSON with `channel` `webchat` (or none).
    public static let webchat = InputFormat(declaring: "webchat")
}

/// The website chat widget: anonymous visitors, who keep their conversation with a token the
/// server issues (`X-Visitor-Token`); addresses are the widget id and the visitor id.
public struct WebchatChannel: ChannelAdapter {
    public init() {}

    public var channel: Channel { .webchat }
    public var label: String { "Webchat" }
    public var addressKind: AddressKind { .identifier(contactProperty: "webchatId") }

    public var formats: [ChannelFormat] {
        [ChannelFormat(.webchat, channel: .webchat, framing: .normalizedJSON, detection: .none)]
    }

    public var webhook: WebhookRoute? {
        WebhookRoute(path: "webhooks/webchat", verification: .visitorToken(header: "X-Visitor-Token"), provider: "webchat",
                     summary: "Webchat message from an anonymous visitor", body: Self.body)
    }

    /// A webchat message: the inbound message JSON with channel webchat (docs/INPUT-FORMATS.md);
    /// `from` is ignored, the visitor is who the token says.
    static let body = WebhookRoute.Body(name: "WebchatMessageBody", schema: [
        "type": "object", "description": "the inbound message JSON; channel webchat or left out",
        "additionalProperties": true, "required": ["text", "to"],
        "properties": [
            "to": ["type": "string", "description": "the widget address an agent binds", "minLength": 1],
            "text": ["type": "string", "description": "the visitor's message"],
            "externalMessageId": ["type": "string", "description": "the widget's id of the message; a message sent twice is processed once"],
            "visitorToken": ["type": "string", "description": "the token the first answer returned (or the X-Visitor-Token header)"],
            "channel": ["type": "string", "enum": ["webchat"]],
        ],
    ])
}
