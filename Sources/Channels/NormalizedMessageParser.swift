import Foundation
import PurserCore

/// Reads the normalized inbound message (docs/INPUT-FORMATS.md) from JSON (JSON Lines and the webchat
/// webhook body) and checks every rule, listing all problems of a line in one reason.
public enum NormalizedMessageParser {
    /// Which `channel` values a caller accepts.
    public enum ChannelPolicy: Sendable, Hashable {
        /// `channel` must be present and known (JSON Lines).
        case required
        /// `channel` may be left out and must otherwise be this one (the webchat webhook: a
        /// browser must not be able to claim to be a WhatsApp sender).
        case only(Channel)

        /// The webchat webhook's policy.
        public static var webchatOnly: ChannelPolicy { .only(.webchat) }

        /// The one channel accepted, if only one is.
        var channel: Channel? {
            if case .only(let channel) = self { return channel }
            return nil
        }
    }

    /// Parses one JSON value (a line or a body) into a message or a rejection.
    ///
    /// - Parameter byteCount: the input's full size when `json` holds only its start.
    public static func outcome(json: [UInt8], byteCount: Int? = nil, position: SourcePosition,
                               policy: ChannelPolicy = .required, limits: ChannelLimits = .standard) -> InboundOutcome {
        func reject(_ code: ChannelError.Code, _ reason: String) -> InboundOutcome {
            .rejected(Rejection(position: position, code: code, reason: reason,
                                raw: Data(json.prefix(limits.rawBytesKeptMax)), rawByteCount: byteCount ?? json.count,
                                channel: policy.channel))
        }
        let size = byteCount ?? json.count
        let sizeMax = policy.channel != nil ? limits.webhookBodyBytesMax : limits.lineBytesMax
        if size > sizeMax || size > json.count {
            return reject(.tooLarge, "input is \(size) bytes; at most \(sizeMax) are accepted for one message")
        }
        switch JSONSupport.parse(json) {
        case .failure(let why):
            return reject(.invalidJSON, "not a message: \(why)")
        case .value(let value):
            guard let object = value.objectValue else {
                return reject(.invalidMessage, "not a message: expected a JSON object with channel, to, from and text, got \(JSONSupport.typeName(value))")
            }
            switch message(from: object, policy: policy, limits: limits) {
            case .success(let message):
                return .message(message, position)
            case .failure(let failure):
                return reject(failure.code, failure.reason)
            }
        }
    }

    struct Failure: Error {
        var code: ChannelError.Code
        var reason: String
    }

    /// Builds a message from a parsed JSON object; `null` counts as absent.
    static func message(from object: [String: JSONValue], policy: ChannelPolicy,
                        limits: ChannelLimits) -> Result<InboundMessage, Failure> {
        var problems: [String] = []
        var code = ChannelError.Code.invalidMessage
        func field(_ name: String) -> JSONValue? {
            guard let value = object[name], !value.isNull else { return nil }
            return value
        }
        func string(_ name: String, required: Bool = false) -> String? {
            guard let value = field(name) else {
                if required { problems.append("`\(name)` is missing") }
                return nil
            }
            guard let text = value.stringValue else {
                problems.append("`\(name)` must be a string, not \(JSONSupport.typeName(value))")
                return nil
            }
            return text
        }
        func strings(_ name: String) -> [String] {
            guard let value = field(name) else { return [] }
            guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                problems.append("`\(name)` must be an array of strings")
                return []
            }
            return list.compactMap(\.stringValue)
        }

        let known = Channel.allCases.map(\.rawValue).joined(separator: ", ")
        var channel: Channel?
        switch (field("channel"), policy) {
        case (nil, .only(let only)):
            channel = only
        case (nil, .required):
            problems.append("`channel` is missing; use one of \(known)")
        case (let value?, _):
            if let name = value.stringValue {
                if let parsed = Channel(rawValue: name) {
                    if let only = policy.channel, parsed != only {
                        problems.append("`channel` is `\(name)`, but this input only takes `\(only)` messages")
                        code = .unknownChannel
                    } else {
                        channel = parsed
                    }
                } else {
                    problems.append("`channel` `\(name)` is not one of \(known)")
                    code = .unknownChannel
                }
            } else {
                problems.append("`channel` must be a string, not \(JSONSupport.typeName(value))")
            }
        }
        let to = string("to", required: true)
        let from = string("from", required: true)
        let text = string("text")
        var externalMessageId: String?
        if let value = field("externalMessageId") {
            externalMessageId = JSONSupport.string(value)
            if externalMessageId == nil {
                problems.append("`externalMessageId` must be a string, not \(JSONSupport.typeName(value))")
            }
        }
        var receivedAt: Date?
        if let stamp = string("receivedAt") {
            receivedAt = Timestamp.channelDate(stamp)
            if receivedAt == nil {
                problems.append("`receivedAt` `\(stamp.prefix(64))` is not an ISO-8601 timestamp like 2026-11-25T10:00:00Z (with Z or an offset)")
                if code == .invalidMessage { code = .invalidTimestamp }
            }
        }
        let contactName = string("contactName")
        let subject = string("subject")
        let inReplyTo = string("inReplyTo")
        let references = strings("references")
        let threadKey = string("threadKey")
        let recipients = strings("recipients")
        let replyToMessageId = string("replyToMessageId")
        let choiceId = string("choiceId")
        let channelAccountId = string("channelAccountId")
        var attachments: [Attachment] = []
        if let value = field("attachments") {
            if let list = value.arrayValue {
                for (index, item) in list.enumerated() {
                    guard let entry = item.objectValue else {
                        problems.append("`attachments[\(index)]` must be an object")
                        continue
                    }
                    attachments.append(Attachment(
                        kind: (entry["kind"]?.stringValue) ?? "file", mimeType: entry["mimeType"]?.stringValue,
                        fileName: entry["fileName"]?.stringValue, url: entry["url"]?.stringValue,
                        mediaId: JSONSupport.string(entry["mediaId"]), sizeBytes: entry["sizeBytes"]?.intValue))
                }
            } else {
                problems.append("`attachments` must be an array of objects")
            }
        }
        if text == nil && field("text") == nil && attachments.isEmpty {
            problems.append("`text` is missing; a message needs text or attachments")
        }

        guard problems.isEmpty, let channel, let to, let from else {
            return .failure(Failure(code: code, reason: problems.joined(separator: "; ")))
        }
        let message = InboundMessage(
            channel: channel, to: to.trimmingCharacters(in: .whitespaces), from: from.trimmingCharacters(in: .whitespaces),
            text: text ?? "", externalMessageId: externalMessageId, receivedAt: receivedAt,
            contactName: contactName.map { truncateUTF8($0, maxBytes: limits.contactNameBytesMax) },
            subject: subject.map { truncateUTF8($0, maxBytes: limits.subjectBytesMax) },
            inReplyTo: inReplyTo, references: references, threadKey: threadKey, recipients: recipients,
            replyToMessageId: replyToMessageId, choiceId: choiceId, channelAccountId: channelAccountId,
            attachments: attachments)
        let rules = message.problems(limits: limits)
        if !rules.isEmpty {
            let tooLarge = rules.allSatisfy { $0.contains("at most") }
            return .failure(Failure(code: tooLarge ? .tooLarge : .invalidMessage, reason: rules.joined(separator: "; ")))
        }
        return .success(message)
    }
}
