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
    public var addressKind: AddressKind { .identifier(contactProperty: "webchatId") }

    public var formats: [ChannelFormat] {
        [ChannelFormat(.webchat, channel: .webchat, framing: .normalizedJSON, detection: .none)]
    }

    public var webhook: WebhookRoute? {
        WebhookRoute(path: "webhooks/webchat", verification: .visitorToken(header: "X-Visitor-Token"), provider: "webchat")
    }
}
