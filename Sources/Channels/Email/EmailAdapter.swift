import Foundation
import PurserCore

/// Turns one RFC 5322 mail into an inbound `email` message.
///
/// `from` and `to` are the bare addresses (lowercased), the display name of `From` becomes
/// `contactName`; the body is the `text/plain` alternative when there is one, otherwise HTML
/// reduced to text; quoted history and signatures are kept because they are part of what the
/// customer sent. Attachments are listed by name, type and size, not copied.
public enum EmailAdapter {
    /// Builds the outcome for one mail.
    ///
    /// - Parameters:
    ///   - bytes: the mail (an mbox `From ` envelope line in front is skipped).
    ///   - byteCount: the mail's full size when `bytes` holds only its start (over the limit).
    public static func outcome(mail bytes: [UInt8], byteCount: Int? = nil, position: SourcePosition,
                               limits: ChannelLimits = .standard) -> InboundOutcome {
        func reject(_ code: ChannelError.Code, _ reason: String) -> InboundOutcome {
            .rejected(Rejection(position: position, code: code, reason: reason,
                                raw: Data(bytes.prefix(limits.rawBytesKeptMax)),
                                rawByteCount: max(byteCount ?? bytes.count, min(bytes.count, limits.rawBytesKeptMax)),
                                channel: .email))
        }
        let total = byteCount ?? bytes.count
        if total > limits.emailMessageBytesMax || total > bytes.count {
            return reject(.tooLarge, "mail is \(total) bytes; at most \(limits.emailMessageBytesMax) are accepted (ChannelLimits.emailMessageBytesMax)")
        }
        var mail = bytes[...]
        if MboxSplitter.isEnvelope(mail) {
            mail = mail[((mail.firstIndex(of: 0x0A) ?? mail.endIndex - 1) + 1)...]
        }
        if mail.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) {
            return reject(.notAMessage, "mail is empty")
        }
        let root = MIMEParser.parse(Array(mail), limits: limits)
        let headers = root.headers
        guard !headers.fields.isEmpty else {
            return reject(.invalidEmail, "not an RFC 5322 mail: no header block (lines like `From: …`, `To: …`) at the start")
        }
        if let automatic = automaticMailReason(root) {
            return reject(.notAMessage, "automatic mail (\(automatic)); an agent answering it could start a mail loop")
        }
        let senders = (headers.all("from") + headers.all("sender") + headers.all("reply-to")).flatMap(MailAddress.parseList)
        guard let sender = senders.first else {
            let shown = headers.first("from").map { "`From: \($0.prefix(80))`" } ?? "no `From` header"
            return reject(.invalidEmail, "mail has no usable sender address (\(shown)); a reply needs one")
        }
        var recipients = (headers.all("to") + headers.all("cc")).flatMap(MailAddress.parseList).map(\.address)
        if recipients.isEmpty {
            recipients = (headers.all("delivered-to") + headers.all("x-original-to")).flatMap(MailAddress.parseList).map(\.address)
        }
        var seen = Set<String>()
        recipients = recipients.filter { seen.insert($0).inserted }
        guard let to = recipients.first else {
            return reject(.invalidEmail, "mail has no recipient address in `To`, `Cc` or `Delivered-To`; routing needs the org's address")
        }

        let subject = headers.first("subject").map { collapseWhitespace(EncodedWords.decode($0)) }
        let messageID = MessageIDs.parse(headers.first("message-id")).first
        let inReplyTo = MessageIDs.parse(headers.first("in-reply-to")).first
        let references = MessageIDs.parse(headers.all("references").joined(separator: " "))
        let threadKey = references.first ?? inReplyTo ?? messageID
        let receivedAt = headers.first("date").flatMap(ProviderTime.parseRFC5322)

        var budget = limits.mimePartsMax
        var text = cleanText(bodyText(root, depth: 0, limits: limits, budget: &budget) ?? "")
        if text.utf8.count > limits.messageTextBytesMax {
            let marker = "\n\n[… mail cut at \(limits.messageTextBytesMax) bytes of \(text.utf8.count)]"
            text = truncateUTF8(text, maxBytes: max(0, limits.messageTextBytesMax - marker.utf8.count)) + marker
        }
        var attachments: [Attachment] = []
        collectAttachments(root, into: &attachments)

        let message = InboundMessage(
            channel: .email, to: to, from: sender.address, text: text,
            externalMessageId: messageID.map { truncateUTF8($0, maxBytes: limits.externalMessageIdBytesMax) },
            receivedAt: receivedAt,
            contactName: sender.name.map { truncateUTF8($0, maxBytes: limits.contactNameBytesMax) },
            subject: subject.map { truncateUTF8($0, maxBytes: limits.subjectBytesMax) },
            inReplyTo: inReplyTo, references: references, threadKey: threadKey,
            recipients: recipients, attachments: attachments)
        let problems = message.problems(limits: limits)
        guard problems.isEmpty else {
            return reject(.invalidEmail, "mail from \(sender.address) cannot be used: " + problems.joined(separator: "; "))
        }
        return .message(message, position)
    }

    /// Why a mail was sent by a machine (RFC 3834 `Auto-Submitted`, the common vacation-reply
    /// headers, RFC 3464 delivery reports), or `nil` for a mail from a person. `Precedence` is
    /// not used: mailing lists set `list` or even `junk` on human mail.
    static func automaticMailReason(_ root: MIMEPart) -> String? {
        let headers = root.headers
        if let value = headers.first("auto-submitted")?.lowercased(), !value.hasPrefix("no") {
            return "Auto-Submitted: \(value)"
        }
        for name in ["x-autoreply", "x-autorespond"] where headers.first(name) != nil {
            return "\(name) header"
        }
        if headers.first("precedence")?.lowercased() == "auto_reply" { return "Precedence: auto_reply" }
        if root.mediaType == "multipart/report" { return "delivery or read report" }
        return nil
    }

    private static let signatureTypes: Set<String> = [
        "application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature",
    ]

    /// The readable text of a part: plain text preferred over HTML in alternatives, the signed
    /// content of multipart/signed, every inline text part of a mixed multipart in order.
    static func bodyText(_ part: MIMEPart, depth: Int, limits: ChannelLimits, budget: inout Int) -> String? {
        budget -= 1
        guard budget >= 0 else { return nil }
        if part.isAttachment && !part.isMultipart { return nil }
        let type = part.mediaType
        switch type {
        case "text/plain":
            return plainText(part)
        case "text/html":
            return HTMLText.plainText(fromHTML: part.decodedText)
        case "text/calendar", "text/vcard", "text/x-vcard", "text/csv", "text/rtf", "text/enriched", "text/richtext":
            return nil
        case _ where type.hasPrefix("text/"):
            return plainText(part)
        case "multipart/alternative":
            let candidates = part.children.filter { !$0.isAttachment }
            if let plain = candidates.first(where: { $0.mediaType == "text/plain" }),
               let text = plainText(plain).nonBlank {
                return text
            }
            for child in candidates where child.isMultipart {
                if let text = bodyText(child, depth: depth + 1, limits: limits, budget: &budget)?.nonBlank { return text }
            }
            if let html = candidates.first(where: { $0.mediaType == "text/html" }) {
                return HTMLText.plainText(fromHTML: html.decodedText)
            }
            for child in candidates {
                if let text = bodyText(child, depth: depth + 1, limits: limits, budget: &budget)?.nonBlank { return text }
            }
            return nil
        case "multipart/signed", "multipart/related", "multipart/encrypted":
            guard let first = part.children.first else { return nil }
            return bodyText(first, depth: depth + 1, limits: limits, budget: &budget)
        case "message/rfc822", "message/global":
            guard depth < limits.mimeNestingDepthMax else { return nil }
            let inner = MIMEParser.parse(Array(part.decodedBody), limits: limits)
            var lines = ["---------- Forwarded message ----------"]
            for name in ["from", "date", "subject", "to"] {
                if let value = inner.headers.first(name) {
                    lines.append("\(name.prefix(1).uppercased() + name.dropFirst()): \(collapseWhitespace(EncodedWords.decode(value)))")
                }
            }
            let body = bodyText(inner, depth: depth + 1, limits: limits, budget: &budget) ?? ""
            return lines.joined(separator: "\n") + "\n\n" + body
        case _ where type.hasPrefix("multipart/"):
            var texts: [String] = []
            for child in part.children {
                if let text = bodyText(child, depth: depth + 1, limits: limits, budget: &budget)?.nonBlank { texts.append(text) }
            }
            return texts.isEmpty ? nil : texts.joined(separator: "\n\n")
        default:
            return nil
        }
    }

    private static func plainText(_ part: MIMEPart) -> String {
        var text = part.decodedText
        if part.contentType.parameters["format"]?.lowercased() == "flowed" {
            text = unflow(text, deleteSpace: part.contentType.parameters["delsp"]?.lowercased() == "yes")
        }
        return text
    }

    /// RFC 3676 format=flowed: a line ending in a space continues on the next line.
    static func unflow(_ text: String, deleteSpace: Bool) -> String {
        var out: [String] = []
        var current: String?
        for raw in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(raw)
            if line == "-- " {
                if let pending = current { out.append(pending); current = nil }
                out.append(line)
                continue
            }
            if line.hasPrefix(" ") { line.removeFirst() }
            if line.hasSuffix(" ") {
                if deleteSpace { line.removeLast() }
                current = (current ?? "") + line
            } else {
                out.append((current ?? "") + line)
                current = nil
            }
        }
        if let pending = current { out.append(pending) }
        return out.joined(separator: "\n")
    }

    private static func collectAttachments(_ part: MIMEPart, into list: inout [Attachment]) {
        if part.isMultipart {
            for child in part.children { collectAttachments(child, into: &list) }
            return
        }
        let type = part.mediaType
        if signatureTypes.contains(type) { return }
        let inlineText = (type.hasPrefix("text/") || type.hasPrefix("message/")) && !part.isAttachment
        guard !inlineText else { return }
        let kind: String
        switch type.split(separator: "/").first ?? "" {
        case "image": kind = "image"
        case "video": kind = "video"
        case "audio": kind = "audio"
        default: kind = "file"
        }
        list.append(Attachment(kind: kind, mimeType: type, fileName: part.fileName, sizeBytes: part.decodedBody.count))
    }

    /// Line ends as `\n`, no trailing blanks on lines, at most one empty line in a row, no blank
    /// lines at either end.
    static func cleanText(_ text: String) -> String {
        var lines: [Substring] = []
        var blankRun = 0
        for raw in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            var line = raw
            while let last = line.last, last.isWhitespace { line = line.dropLast() }
            if line.isEmpty {
                blankRun += 1
                if blankRun > 1 { continue }
            } else {
                blankRun = 0
            }
            lines.append(line)
        }
        while let first = lines.first, first.isEmpty { lines.removeFirst() }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    static func collapseWhitespace(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}

/// Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character.
func truncateUTF8(_ text: String, maxBytes: Int) -> String {
    guard text.utf8.count > maxBytes else { return text }
    var count = 0
    var end = text.startIndex
    for index in text.indices {
        let size = text[index].utf8.count
        if count + size > maxBytes { break }
        count += size
        end = text.index(after: index)
    }
    return String(text[..<end])
}

extension String {
    var nonBlank: String? { allSatisfy(\.isWhitespace) ? nil : self }
}

extension Channel {
    public static let email = Channel(declaring: "email")
}

extension InputFormat {
    /// One RFC 5322 message (an mbox `From ` envelope line in front is tolerated).
    public static let eml = InputFormat(declaring: "eml")
    /// A mailbox of messages separated by `From ` lines.
    public static let mbox = InputFormat(declaring: "mbox")
}

/// Email: single RFC 5322 messages and mbox files, mail addresses as addresses. No webhook: mail
/// arrives through `purser ingest`.
public struct EmailChannel: ChannelAdapter {
    public init() {}

    public var channel: Channel { .email }
    public var label: String { "Email" }
    public var addressKind: AddressKind { .email }

    public var formats: [ChannelFormat] {
        let parse: ChannelFormat.Parse = { bytes, byteCount, position, limits in
            [EmailAdapter.outcome(mail: bytes, byteCount: byteCount, position: position, limits: limits)]
        }
        return [
            ChannelFormat(.eml, channel: .email, framing: .document, detection: .fallbackLine({ FormatDetector.isHeaderLine($0) }), parse: parse),
            ChannelFormat(.mbox, channel: .email, framing: .mailbox, detection: .line({ MboxSplitter.isEnvelope($0) }), parse: parse),
        ]
    }
}
