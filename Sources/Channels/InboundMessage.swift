import Foundation
import PurserCore

/// A file, picture or other non-text content that came with a message.
///
/// Only metadata is kept: the pipeline decides whether to fetch media (WhatsApp media ids need an
/// authenticated download), and mail attachments are not copied into the event log.
public struct Attachment: Sendable, Hashable, Codable {
    /// `image`, `video`, `audio`, `voice`, `document`, `sticker` or `file`.
    public var kind: String
    public var mimeType: String?
    public var fileName: String?
    /// Where the provider serves the content, when it says (Twilio `MediaUrlN`, WhatsApp `url`).
    public var url: String?
    /// The provider's media id (WhatsApp) to fetch the content with.
    public var mediaId: String?
    /// Decoded size, when known (mail parts).
    public var sizeBytes: Int?

    public init(kind: String, mimeType: String? = nil, fileName: String? = nil, url: String? = nil,
                mediaId: String? = nil, sizeBytes: Int? = nil) {
        self.kind = kind
        self.mimeType = mimeType
        self.fileName = fileName
        self.url = url
        self.mediaId = mediaId
        self.sizeBytes = sizeBytes
    }
}

/// One inbound customer message in the normalized shape of docs/INPUT-FORMATS.md.
///
/// The first seven fields are the contract every channel fills; the rest are optional extras
/// some channels supply (mail threading, WhatsApp reply context and button ids, attachments).
/// Encoding omits absent extras, so a plain message encodes to exactly the documented line.
public struct InboundMessage: Sendable, Hashable {
    public var channel: Channel
    /// The org's channel address (phone number, mail address, webchat id): what routing matches.
    public var to: String
    /// The customer's address on the channel.
    public var from: String
    /// What the customer wrote, as plain text (may be empty when `attachments` carry the message).
    public var text: String
    /// The provider's id for this message; with `channel` it identifies duplicates.
    public var externalMessageId: String?
    /// When the provider received the message; `nil` when the input does not say.
    public var receivedAt: Date?
    public var contactName: String?

    /// Mail subject (RFC 2047 decoded).
    public var subject: String?
    /// The `Message-ID` (without angle brackets) this mail answers.
    public var inReplyTo: String?
    /// The thread's `References`, oldest first, without angle brackets.
    public var references: [String]
    /// A key that stays the same for every mail of one thread, as far as the headers tell: the
    /// first `References` id, else `In-Reply-To`, else the mail's own `Message-ID`.
    public var threadKey: String?
    /// Every `To` and `Cc` address of a mail, so routing can match an org address that is not
    /// the first recipient.
    public var recipients: [String]
    /// The provider message id this message quotes or answers (WhatsApp `context.id`).
    public var replyToMessageId: String?
    /// The id behind a tapped button or chosen list row (WhatsApp interactive replies); `text`
    /// carries the visible title.
    public var choiceId: String?
    /// The provider account that received the message (WhatsApp `phone_number_id`, Twilio
    /// `AccountSid`), for binding by account rather than by number.
    public var channelAccountId: String?
    public var attachments: [Attachment]

    public init(
        channel: Channel, to: String, from: String, text: String,
        externalMessageId: String? = nil, receivedAt: Date? = nil, contactName: String? = nil,
        subject: String? = nil, inReplyTo: String? = nil, references: [String] = [],
        threadKey: String? = nil, recipients: [String] = [], replyToMessageId: String? = nil,
        choiceId: String? = nil, channelAccountId: String? = nil, attachments: [Attachment] = []
    ) {
        self.channel = channel
        self.to = to
        self.from = from
        self.text = text
        self.externalMessageId = externalMessageId
        self.receivedAt = receivedAt
        self.contactName = contactName
        self.subject = subject
        self.inReplyTo = inReplyTo
        self.references = references
        self.threadKey = threadKey
        self.recipients = recipients
        self.replyToMessageId = replyToMessageId
        self.choiceId = choiceId
        self.channelAccountId = channelAccountId
        self.attachments = attachments
    }

    /// Every rule of the inbound message (docs/INPUT-FORMATS.md) this value breaks, worded for the person who
    /// has to fix the input; empty when the message is acceptable.
    public func problems(limits: ChannelLimits = .standard) -> [String] {
        var problems: [String] = []
        for (name, value) in [("to", to), ("from", from)] {
            if value.allSatisfy(\.isWhitespace) {
                problems.append("`\(name)` is empty; it must name the \(name == "to" ? "org's channel address" : "sender")")
            } else if value.utf8.count > limits.addressBytesMax {
                problems.append("`\(name)` is \(value.utf8.count) bytes; at most \(limits.addressBytesMax) are allowed")
            }
        }
        if text.allSatisfy(\.isWhitespace) && attachments.isEmpty {
            problems.append("`text` is empty and there are no attachments; a message needs one or the other")
        }
        if text.utf8.count > limits.messageTextBytesMax {
            problems.append("`text` is \(text.utf8.count) bytes; at most \(limits.messageTextBytesMax) are allowed")
        }
        if let id = externalMessageId {
            if id.isEmpty {
                problems.append("`externalMessageId` is empty; leave it out or give the provider's id")
            } else if id.utf8.count > limits.externalMessageIdBytesMax {
                problems.append("`externalMessageId` is \(id.utf8.count) bytes; at most \(limits.externalMessageIdBytesMax) are allowed")
            }
        }
        return problems
    }
}

extension InboundMessage: Codable {
    enum CodingKeys: String, CodingKey {
        case channel, to, from, text, externalMessageId, receivedAt, contactName
        case subject, inReplyTo, references, threadKey, recipients, replyToMessageId, choiceId
        case channelAccountId, attachments
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        channel = try c.decode(Channel.self, forKey: .channel)
        to = try c.decode(String.self, forKey: .to)
        from = try c.decode(String.self, forKey: .from)
        text = try c.decodeIfPresent(String.self, forKey: .text) ?? ""
        externalMessageId = try c.decodeIfPresent(String.self, forKey: .externalMessageId)
        if let stamp = try c.decodeIfPresent(String.self, forKey: .receivedAt) {
            guard let date = Timestamp.channelDate(stamp) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .receivedAt, in: c, debugDescription: "not an ISO-8601 timestamp: \(stamp)")
            }
            receivedAt = date
        } else {
            receivedAt = nil
        }
        contactName = try c.decodeIfPresent(String.self, forKey: .contactName)
        subject = try c.decodeIfPresent(String.self, forKey: .subject)
        inReplyTo = try c.decodeIfPresent(String.self, forKey: .inReplyTo)
        references = try c.decodeIfPresent([String].self, forKey: .references) ?? []
        threadKey = try c.decodeIfPresent(String.self, forKey: .threadKey)
        recipients = try c.decodeIfPresent([String].self, forKey: .recipients) ?? []
        replyToMessageId = try c.decodeIfPresent(String.self, forKey: .replyToMessageId)
        choiceId = try c.decodeIfPresent(String.self, forKey: .choiceId)
        channelAccountId = try c.decodeIfPresent(String.self, forKey: .channelAccountId)
        attachments = try c.decodeIfPresent([Attachment].self, forKey: .attachments) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(channel, forKey: .channel)
        try c.encode(to, forKey: .to)
        try c.encode(from, forKey: .from)
        try c.encode(text, forKey: .text)
        try c.encodeIfPresent(externalMessageId, forKey: .externalMessageId)
        try c.encodeIfPresent(receivedAt.map(Timestamp.channelText), forKey: .receivedAt)
        try c.encodeIfPresent(contactName, forKey: .contactName)
        try c.encodeIfPresent(subject, forKey: .subject)
        try c.encodeIfPresent(inReplyTo, forKey: .inReplyTo)
        if !references.isEmpty { try c.encode(references, forKey: .references) }
        try c.encodeIfPresent(threadKey, forKey: .threadKey)
        if !recipients.isEmpty { try c.encode(recipients, forKey: .recipients) }
        try c.encodeIfPresent(replyToMessageId, forKey: .replyToMessageId)
        try c.encodeIfPresent(choiceId, forKey: .choiceId)
        try c.encodeIfPresent(channelAccountId, forKey: .channelAccountId)
        if !attachments.isEmpty { try c.encode(attachments, forKey: .attachments) }
    }
}
