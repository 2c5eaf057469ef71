import Channels
import Foundation
import PurserCore

/// A file or media item that came with a message.
public struct MessageAttachment: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case image, audio, video, document, sticker, location, other
    }

    public var kind: Kind
    /// Where the content can be fetched, when the channel gives a URL.
    public var url: String?
    /// The channel's id for the media (WhatsApp media id), when it gives one instead of a URL.
    public var externalId: String?
    public var mimeType: String?
    public var filename: String?
    public var sizeBytes: Int?
    public var caption: String?

    public init(kind: Kind, url: String? = nil, externalId: String? = nil, mimeType: String? = nil,
                filename: String? = nil, sizeBytes: Int? = nil, caption: String? = nil) {
        self.kind = kind
        self.url = url
        self.externalId = externalId
        self.mimeType = mimeType
        self.filename = filename
        self.sizeBytes = sizeBytes
        self.caption = caption
    }

    /// A best guess of the kind from a URL's or file name's extension.
    public static func guessKind(fromName name: String) -> Kind {
        let path = name.split(separator: "?", omittingEmptySubsequences: false).first.map(String.init) ?? name
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: ".") else { return .other }
        let ext = file[file.index(after: dot)...].lowercased()
        switch ext {
        case "jpg", "jpeg", "png", "gif", "webp", "heic", "bmp": return .image
        case "mp3", "ogg", "opus", "m4a", "wav", "aac", "amr": return .audio
        case "mp4", "mov", "3gp", "webm", "mkv": return .video
        case "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "csv", "odt", "rtf", "zip": return .document
        default: return .other
        }
    }
}

/// An inbound message from a customer, routed to an agent. The event's id is the message's id;
/// replies point to it with `inReplyTo`.
///
/// Version 2 renamed v1's `sender`/`recipient` to `from`/`to` and holds them normalized (E.164
/// phone numbers, lowercased email addresses), replaced v1's flat `mediaUrls` with structured
/// `attachments`, and added the email threading fields and the routing result.
public struct MessageReceived: EventPayload {
    public static let type = "message.received"
    public static let version = 2

    public var channel: Channel
    /// The customer's normalized address on the channel.
    public var from: String
    /// The org's normalized address the message was sent to (what the binding matched).
    public var to: String
    public var text: String
    /// The channel's id for the message (WhatsApp `wamid`, email Message-ID, Twilio SID): the
    /// key, with `channel`, under which the message is processed only once.
    public var externalMessageId: String?
    public var receivedAt: Timestamp
    /// The name the channel gave for the sender, if any.
    public var contactName: String?
    /// The email subject.
    public var subject: String?
    /// The Message-ID this email replies to (RFC 5322 In-Reply-To).
    public var inReplyTo: String?
    /// The Message-IDs of the email thread (RFC 5322 References), oldest first.
    public var references: [String]
    public var attachments: [MessageAttachment]
    /// The agent the channel binding routed to; nil only for events upcast from v1.
    public var agentId: String?
    /// The session the message belongs to, when the pipeline resolved it before appending.
    public var sessionId: String?
    /// Webchat only, on a visitor's first message: the SHA-256 (hex) of the visitor token the
    /// server issued with it. Later messages prove they come from the same visitor by carrying
    /// the token; only its hash is ever stored.
    public var visitorTokenHash: String?

    public init(channel: Channel, from: String, to: String, text: String, externalMessageId: String? = nil,
                receivedAt: Timestamp, contactName: String? = nil, subject: String? = nil, inReplyTo: String? = nil,
                references: [String] = [], attachments: [MessageAttachment] = [], agentId: String? = nil,
                sessionId: String? = nil, visitorTokenHash: String? = nil) {
        self.channel = channel
        self.from = from
        self.to = to
        self.text = text
        self.externalMessageId = externalMessageId
        self.receivedAt = receivedAt
        self.contactName = contactName
        self.subject = subject
        self.inReplyTo = inReplyTo
        self.references = references
        self.attachments = attachments
        self.agentId = agentId
        self.sessionId = sessionId
        self.visitorTokenHash = visitorTokenHash
    }

    enum CodingKeys: String, CodingKey {
        case channel, from, to, text, externalMessageId, receivedAt, contactName, subject, inReplyTo, references,
             attachments, agentId, sessionId, visitorTokenHash
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        channel = try c.decode(Channel.self, forKey: .channel)
        from = try c.decode(String.self, forKey: .from)
        to = try c.decode(String.self, forKey: .to)
        text = try c.decode(String.self, forKey: .text)
        externalMessageId = try c.decodeIfPresent(String.self, forKey: .externalMessageId)
        receivedAt = try c.decode(Timestamp.self, forKey: .receivedAt)
        contactName = try c.decodeIfPresent(String.self, forKey: .contactName)
        subject = try c.decodeIfPresent(String.self, forKey: .subject)
        inReplyTo = try c.decodeIfPresent(String.self, forKey: .inReplyTo)
        references = try c.decodeIfPresent([String].self, forKey: .references) ?? []
        attachments = try c.decodeIfPresent([MessageAttachment].self, forKey: .attachments) ?? []
        agentId = try c.decodeIfPresent(String.self, forKey: .agentId)
        sessionId = try c.decodeIfPresent(String.self, forKey: .sessionId)
        visitorTokenHash = try c.decodeIfPresent(String.self, forKey: .visitorTokenHash)
    }

    /// v1 → v2, see the type's documentation. Addresses that cannot be normalized are kept
    /// trimmed rather than failing the read: history must stay readable.
    public static let upcasterFromV1 = Upcaster(type: MessageReceived.type, fromVersion: 1) { (v1: JSONValue) throws(DomainError) -> JSONValue in
        guard case .object(var fields) = v1 else {
            throw DomainError(.upcastFailed, "message.received v1 data must be an object, found \(v1.kindName)")
        }
        let channel = fields["channel"]?.stringValue.flatMap(Channel.init(rawValue:))
        func normalized(_ raw: JSONValue?) -> JSONValue {
            guard let text = raw?.stringValue else { return raw ?? .string("") }
            guard let channel, let address = try? AddressNormalizer.address(text, on: channel) else {
                return .string(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return .string(address)
        }
        fields["from"] = normalized(fields.removeValue(forKey: "sender"))
        fields["to"] = normalized(fields.removeValue(forKey: "recipient"))
        let urls = fields.removeValue(forKey: "mediaUrls")?.arrayValue ?? []
        fields["attachments"] = .array(urls.compactMap { url in
            guard let url = url.stringValue else { return nil }
            return .object(["kind": .string(MessageAttachment.guessKind(fromName: url).rawValue), "url": .string(url)])
        })
        if fields["references"] == nil { fields["references"] = .array([]) }
        return .object(fields)
    }
}

/// Input that could not become a message: an invalid JSON line, an unparseable email, a webhook
/// body that holds no message (a WhatsApp status update). Keeps the raw bytes for inspection.
public struct MessageRejected: EventPayload {
    public static let type = "message.rejected"
    public static let version = 1

    /// Machine-readable reason, e.g. `invalid_json`, `missing_field`, `unknown_channel`,
    /// `not_a_message`, `invalid_address`.
    public var code: String
    /// What was wrong, for a person.
    public var reason: String
    /// Where the input came from: a file name, `stdin`, `webhook:whatsapp`.
    public var source: String?
    /// 1-based line (JSON Lines) or message (mbox) number within `source`.
    public var lineNumber: Int?
    /// The input format (`jsonl`, `whatsapp`, `twilio`, `eml`, `mbox`, `webchat`).
    public var format: String?
    public var channel: Channel?
    /// The raw input when it is valid UTF-8 ...
    public var rawUTF8: String?
    /// ... otherwise base64 of the raw bytes.
    public var rawBase64: String?

    public init(code: String, reason: String, source: String? = nil, lineNumber: Int? = nil, format: String? = nil,
                channel: Channel? = nil, raw: Data) {
        self.code = code
        self.reason = reason
        self.source = source
        self.lineNumber = lineNumber
        self.format = format
        self.channel = channel
        if let text = String(data: raw, encoding: .utf8) {
            rawUTF8 = text
            rawBase64 = nil
        } else {
            rawUTF8 = nil
            rawBase64 = raw.base64EncodedString()
        }
    }

    /// The rejected input's bytes.
    public var raw: Data {
        if let rawUTF8 { return Data(rawUTF8.utf8) }
        return rawBase64.flatMap { Data(base64Encoded: $0) } ?? Data()
    }
}

/// A valid message sent to an address no enabled binding serves. Keeps the message so it can be
/// fed again once a binding exists.
public struct MessageUnrouted: EventPayload {
    public static let type = "message.unrouted"
    public static let version = 1

    public var channel: Channel
    public var from: String
    public var to: String
    public var text: String
    public var externalMessageId: String?
    public var receivedAt: Timestamp
    public var contactName: String?
    /// Why no agent took it, e.g. "no agent binds whatsapp +4939771234567".
    public var reason: String

    public init(channel: Channel, from: String, to: String, text: String, externalMessageId: String? = nil,
                receivedAt: Timestamp, contactName: String? = nil, reason: String) {
        self.channel = channel
        self.from = from
        self.to = to
        self.text = text
        self.externalMessageId = externalMessageId
        self.receivedAt = receivedAt
        self.contactName = contactName
        self.reason = reason
    }
}

/// A reply written but not sent: under `draft_only` it stays a draft; under `supervised` it waits
/// for the approval named by `approvalId`.
public struct MessageDrafted: EventPayload {
    public static let type = "message.drafted"
    public static let version = 1

    /// The outbound message's id; the same id is used by `message.sent` if it is sent later.
    public var messageId: String
    public var agentId: String
    public var sessionId: String
    public var channel: Channel
    /// The customer's normalized address.
    public var to: String
    public var text: String
    /// The event id of the `message.received` this answers.
    public var inReplyTo: String?
    public var approvalId: String?

    public init(messageId: String, agentId: String, sessionId: String, channel: Channel, to: String, text: String,
                inReplyTo: String? = nil, approvalId: String? = nil) {
        self.messageId = messageId
        self.agentId = agentId
        self.sessionId = sessionId
        self.channel = channel
        self.to = to
        self.text = text
        self.inReplyTo = inReplyTo
        self.approvalId = approvalId
    }
}

/// A reply handed to the outbox for its channel connector, by the agent or by a human (the
/// envelope's actor says which). Pending in the outbox until `message.delivered`.
public struct MessageSent: EventPayload {
    public static let type = "message.sent"
    public static let version = 1

    /// The outbox id, what `purser outbox ack ID` names.
    public var messageId: String
    public var agentId: String?
    public var sessionId: String?
    public var channel: Channel
    /// The org's address it is sent from.
    public var from: String?
    /// The customer's normalized address.
    public var to: String
    public var text: String
    public var subject: String?
    /// The event id of the `message.received` this answers.
    public var inReplyTo: String?
    /// The approval that allowed the send, under `supervised` or for an edited reply.
    public var approvalId: String?

    public init(messageId: String, agentId: String? = nil, sessionId: String? = nil, channel: Channel, from: String? = nil,
                to: String, text: String, subject: String? = nil, inReplyTo: String? = nil, approvalId: String? = nil) {
        self.messageId = messageId
        self.agentId = agentId
        self.sessionId = sessionId
        self.channel = channel
        self.from = from
        self.to = to
        self.text = text
        self.subject = subject
        self.inReplyTo = inReplyTo
        self.approvalId = approvalId
    }
}

/// A channel connector reported what became of a sent message.
public struct MessageDelivered: EventPayload {
    public static let type = "message.delivered"
    public static let version = 1

    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case delivered, read, failed
    }

    public var messageId: String
    public var status: Status
    /// The channel's id for the sent message (e.g. the `wamid` WhatsApp returned).
    public var externalMessageId: String?
    public var deliveredAt: Timestamp?
    /// Why delivery failed, when `status` is `failed`.
    public var error: String?

    public init(messageId: String, status: Status = .delivered, externalMessageId: String? = nil,
                deliveredAt: Timestamp? = nil, error: String? = nil) {
        self.messageId = messageId
        self.status = status
        self.externalMessageId = externalMessageId
        self.deliveredAt = deliveredAt
        self.error = error
    }
}
