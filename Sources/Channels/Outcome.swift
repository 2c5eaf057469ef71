import Foundation
import PurserCore

/// The input formats of `purser ingest --format`: `auto`, `jsonl`, and the formats of the
/// registered channels (`ChannelRegistry`).
public struct InputFormat: RawRepresentable, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    public let rawValue: String

    /// `auto`, `jsonl` or a registered channel's format; `nil` for any other name.
    public init?(rawValue: String) {
        guard rawValue == "auto" || rawValue == "jsonl" || ChannelRegistry.formats.contains(where: { $0.format.rawValue == rawValue }) else {
            return nil
        }
        self.rawValue = rawValue
    }

    /// Declares a format's name; for the `static let` of a channel adapter.
    public init(declaring name: String) {
        rawValue = name
    }

    public var description: String { rawValue }

    /// Decide from the first bytes (see `FormatDetector`).
    public static let auto = InputFormat(declaring: "auto")
    /// Normalized inbound messages, one JSON object per line.
    public static let jsonl = InputFormat(declaring: "jsonl")

    /// Every format, `auto` first.
    public static var allCases: [InputFormat] { [.auto, .jsonl] + ChannelRegistry.formats.map(\.format) }
}

/// Where an outcome came from, precise enough for a person to find the input again.
public struct SourcePosition: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file name (or `-` for standard input, or a webhook name).
    public var source: String
    /// The 1-based line where the item starts, when the input is line-oriented.
    public var line: Int?
    /// The 1-based number of the item within the source (mail in an mbox, body in a bundle,
    /// message within a webhook body).
    public var index: Int?
    /// The key of the body in a bundle of named webhook bodies.
    public var label: String?

    public init(source: String, line: Int? = nil, index: Int? = nil, label: String? = nil) {
        self.source = source
        self.line = line
        self.index = index
        self.label = label
    }

    public var description: String {
        var text = source
        if let line { text += ":\(line)" }
        if let label { text += " [\(label)]" }
        if let index { text += " #\(index)" }
        return text
    }
}

/// A delivery report for a message the org sent (WhatsApp `statuses[]`, Twilio status
/// callbacks). Not a customer message: a later stage marks the outbox entry with it.
public struct StatusUpdate: Sendable, Hashable {
    public var channel: Channel
    /// The provider's id of the outbound message this status is about.
    public var externalMessageId: String
    /// The provider's status word: `sent`, `delivered`, `read`, `played`, `failed`, `undelivered`…
    public var status: String
    /// Who the outbound message went to.
    public var recipient: String?
    /// The org's own address the message went out from (WhatsApp `metadata.display_phone_number`,
    /// Twilio `From`): what routes the status to its org, so a webhook signed by one org cannot
    /// mark another org's messages delivered.
    public var businessAddress: String?
    public var timestamp: Date?
    /// The provider's error code and text when the status reports a failure.
    public var errorCode: String?
    public var errorMessage: String?

    public init(channel: Channel, externalMessageId: String, status: String, recipient: String? = nil,
                businessAddress: String? = nil, timestamp: Date? = nil, errorCode: String? = nil, errorMessage: String? = nil) {
        self.channel = channel
        self.externalMessageId = externalMessageId
        self.status = status
        self.recipient = recipient
        self.businessAddress = businessAddress
        self.timestamp = timestamp
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}

extension StatusUpdate: Codable {
    enum CodingKeys: String, CodingKey {
        case channel, externalMessageId, status, recipient, businessAddress, timestamp, errorCode, errorMessage
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        channel = try c.decode(Channel.self, forKey: .channel)
        externalMessageId = try c.decode(String.self, forKey: .externalMessageId)
        status = try c.decode(String.self, forKey: .status)
        recipient = try c.decodeIfPresent(String.self, forKey: .recipient)
        businessAddress = try c.decodeIfPresent(String.self, forKey: .businessAddress)
        if let stamp = try c.decodeIfPresent(String.self, forKey: .timestamp) {
            guard let date = Timestamp.channelDate(stamp) else {
                throw DecodingError.dataCorruptedError(forKey: .timestamp, in: c, debugDescription: "not an ISO-8601 timestamp: \(stamp)")
            }
            timestamp = date
        } else {
            timestamp = nil
        }
        errorCode = try c.decodeIfPresent(String.self, forKey: .errorCode)
        errorMessage = try c.decodeIfPresent(String.self, forKey: .errorMessage)
    }

    /// Encodes `timestamp` as ISO-8601, like `InboundMessage.receivedAt`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(channel, forKey: .channel)
        try c.encode(externalMessageId, forKey: .externalMessageId)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(recipient, forKey: .recipient)
        try c.encodeIfPresent(businessAddress, forKey: .businessAddress)
        try c.encodeIfPresent(timestamp.map(Timestamp.channelText), forKey: .timestamp)
        try c.encodeIfPresent(errorCode, forKey: .errorCode)
        try c.encodeIfPresent(errorMessage, forKey: .errorMessage)
    }
}

/// An input that did not become a message, kept with its raw bytes for `message.rejected`.
public struct Rejection: Sendable, Hashable, Codable, CustomStringConvertible {
    public var position: SourcePosition
    public var code: ChannelError.Code
    /// Why, worded so a person can fix the input.
    public var reason: String
    /// The input as it arrived (at most `ChannelLimits.rawBytesKeptMax` bytes of it).
    public var raw: Data
    /// The full size of the input when `raw` holds only its start.
    public var rawByteCount: Int
    /// The channel, when the format implies one.
    public var channel: Channel?

    public init(position: SourcePosition, code: ChannelError.Code, reason: String, raw: Data,
                rawByteCount: Int? = nil, channel: Channel? = nil) {
        self.position = position
        self.code = code
        self.reason = reason
        self.raw = raw
        self.rawByteCount = rawByteCount ?? raw.count
        self.channel = channel
    }

    /// Whether `raw` holds only the start of the input.
    public var rawTruncated: Bool { rawByteCount > raw.count }

    public var description: String { "\(position): \(reason) [\(code.rawValue)]" }
}

/// What one input item became.
public enum InboundOutcome: Sendable, Hashable {
    case message(InboundMessage, SourcePosition)
    case status(StatusUpdate, SourcePosition)
    case rejected(Rejection)

    public var position: SourcePosition {
        switch self {
        case .message(_, let position), .status(_, let position): return position
        case .rejected(let rejection): return rejection.position
        }
    }

    public var message: InboundMessage? {
        if case .message(let message, _) = self { return message }
        return nil
    }

    public var status: StatusUpdate? {
        if case .status(let status, _) = self { return status }
        return nil
    }

    public var rejection: Rejection? {
        if case .rejected(let rejection) = self { return rejection }
        return nil
    }
}
