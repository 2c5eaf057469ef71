import Foundation

/// Turns Twilio Messaging webhook bodies (`application/x-www-form-urlencoded`) into messages.
///
/// `From`/`To` with a `whatsapp:` prefix mean the WhatsApp channel (the prefix is removed),
/// plain numbers mean SMS. `ProfileName` is the contact name, `AccountSid` the account,
/// `MediaUrlN`/`MediaContentTypeN` attachments. Status callbacks (`MessageStatus`, or a
/// non-`received` `SmsStatus` without a `Body`) become `.status` outcomes.
public enum TwilioAdapter {
    /// Decodes a form body into its fields in order (`+` is a space, `%XX` a byte, UTF-8).
    public static func parseForm<Bytes: Collection>(_ body: Bytes) -> [(name: String, value: String)] where Bytes.Element == UInt8 {
        var fields: [(String, String)] = []
        for pair in Array(body).split(separator: 0x26, omittingEmptySubsequences: true) {
            var pair = pair
            while let last = pair.last, last == 0x0D || last == 0x0A { pair = pair.dropLast() }
            guard !pair.isEmpty else { continue }
            if let eq = pair.firstIndex(of: 0x3D) {
                fields.append((decodeComponent(pair[pair.startIndex..<eq]), decodeComponent(pair[(eq + 1)...])))
            } else {
                fields.append((decodeComponent(pair), ""))
            }
        }
        return fields
    }

    static func decodeComponent(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == 0x2B {
                out.append(0x20)
            } else if c == 0x25, i + 2 < bytes.endIndex, let hi = TransferEncoding.hexValue(bytes[i + 1]),
                      let lo = TransferEncoding.hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(c)
            }
            i += 1
        }
        return Charsets.decodeUTF8Leniently(out)
    }

    /// Whether a line looks like a form body (`key=value&key=value`, no spaces).
    static func looksLikeForm(_ line: ArraySlice<UInt8>) -> Bool {
        guard let eq = line.firstIndex(of: 0x3D), eq > line.startIndex else { return false }
        let key = line[line.startIndex..<eq]
        guard key.allSatisfy({ isKeyByte($0) }) else { return false }
        return !line.contains(where: { $0 == 0x20 || $0 == 0x09 || $0 == 0x7B || $0 == 0x22 })
    }

    private static func isKeyByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x25 || c == 0x2E || c == 0x2D
    }

    /// The outcome of one form body.
    public static func outcome(formBody: [UInt8], byteCount: Int? = nil, position: SourcePosition,
                               limits: ChannelLimits = .standard) -> InboundOutcome {
        func reject(_ code: ChannelError.Code, _ reason: String, channel: Channel? = nil) -> InboundOutcome {
            .rejected(Rejection(position: position, code: code, reason: reason, raw: Data(formBody.prefix(limits.rawBytesKeptMax)),
                                rawByteCount: byteCount ?? formBody.count, channel: channel))
        }
        let size = byteCount ?? formBody.count
        if size > limits.lineBytesMax || size > formBody.count {
            return reject(.tooLarge, "form body is \(size) bytes; at most \(limits.lineBytesMax) are accepted")
        }
        var body = formBody[...]
        while let last = body.last, last == 0x0D || last == 0x0A || last == 0x20 { body = body.dropLast() }
        guard looksLikeForm(body) else {
            return reject(.invalidForm, "not a Twilio form body: expected `Name=value&Name=value` (application/x-www-form-urlencoded)")
        }
        var fields: [String: String] = [:]
        for (name, value) in parseForm(body) where fields[name] == nil { fields[name] = value }
        func field(_ name: String) -> String? { fields[name].flatMap { $0.isEmpty ? nil : $0 } }

        let fromRaw = field("From")
        let toRaw = field("To")
        let channelResult = channel(from: fromRaw, to: toRaw)
        let sid = field("MessageSid") ?? field("SmsMessageSid") ?? field("SmsSid")

        let statusWord = field("MessageStatus") ?? field("SmsStatus")
        if let statusWord, field("MessageStatus") != nil || (statusWord != "received" && fields["Body"] == nil) {
            guard let sid else {
                return reject(.invalidForm, "Twilio status callback without `MessageSid`")
            }
            let channel = (try? channelResult.get()) ?? .sms
            let update = StatusUpdate(channel: channel, externalMessageId: sid, status: statusWord,
                                      recipient: toRaw.map(stripPrefix), businessAddress: fromRaw.map(stripPrefix), errorCode: field("ErrorCode"),
                                      errorMessage: field("ErrorMessage"))
            return .status(update, position)
        }

        var missing: [String] = []
        if sid == nil { missing.append("`MessageSid`") }
        if fromRaw == nil { missing.append("`From`") }
        if toRaw == nil { missing.append("`To`") }
        guard missing.isEmpty, let fromRaw, let toRaw else {
            return reject(.invalidForm, "Twilio message body lacks \(missing.joined(separator: ", ")); is this an inbound-message webhook?")
        }
        let channel: Channel
        switch channelResult {
        case .success(let value): channel = value
        case .failure(let failure): return reject(.unsupportedMessageType, failure.reason)
        }

        var attachments: [Attachment] = []
        let mediaCount = Int(field("NumMedia") ?? "0") ?? 0
        for index in 0..<max(0, min(mediaCount, 10)) {
            guard let url = field("MediaUrl\(index)") else { continue }
            let type = field("MediaContentType\(index)")
            let major = type?.split(separator: "/").first.map(String.init) ?? "file"
            attachments.append(Attachment(kind: ["image", "video", "audio"].contains(major) ? major : "file",
                                          mimeType: type, url: url))
        }
        var text = fields["Body"] ?? ""
        if text.isEmpty, let button = field("ButtonText") { text = button }
        if text.isEmpty, let lat = field("Latitude"), let lon = field("Longitude") {
            text = "Shared location: " + [field("Label"), field("Address"), "(\(lat), \(lon))"].compactMap { $0 }.joined(separator: ", ")
        }
        let message = InboundMessage(
            channel: channel, to: stripPrefix(toRaw), from: stripPrefix(fromRaw), text: text,
            externalMessageId: sid,
            contactName: field("ProfileName").map { truncateUTF8($0, maxBytes: limits.contactNameBytesMax) },
            replyToMessageId: field("OriginalRepliedMessageSid"), choiceId: field("ButtonPayload"),
            channelAccountId: field("AccountSid"), attachments: attachments)
        let problems = message.problems(limits: limits)
        guard problems.isEmpty else {
            let code: ChannelError.Code = problems.allSatisfy { $0.contains("at most") } ? .tooLarge : .invalidForm
            return reject(code, "Twilio message \(sid ?? ""): " + problems.joined(separator: "; "), channel: channel)
        }
        return .message(message, position)
    }

    private struct PrefixFailure: Error { var reason: String }

    private static func channel(from: String?, to: String?) -> Result<Channel, PrefixFailure> {
        for address in [from, to].compactMap({ $0 }) {
            guard let colon = address.firstIndex(of: ":") else { continue }
            let prefix = address[..<colon].lowercased()
            switch prefix {
            case "whatsapp": return .success(.whatsapp)
            case "sms", "tel", "mms": continue
            default:
                return .failure(PrefixFailure(reason: "Twilio address `\(address)` uses the `\(prefix):` channel, which Purser does not take through Twilio (only SMS and `whatsapp:`)"))
            }
        }
        return .success(.sms)
    }

    private static func stripPrefix(_ address: String) -> String {
        guard let colon = address.firstIndex(of: ":") else { return address.trimmingCharacters(in: .whitespaces) }
        return String(address[address.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
    }
}

extension Channel {
    public static let sms = Channel(declaring: "sms")
}

extension InputFormat {
    /// Twilio inbound SMS/WhatsApp form bodies, one per line; `#` lines are comments.
    public static let twilio = InputFormat(declaring: "twilio")
}

/// SMS through Twilio: form bodies signed with `X-Twilio-Signature`, phone numbers as addresses.
/// A Twilio body whose addresses say `whatsapp:` is a WhatsApp message and routes as one.
public struct SMSChannel: ChannelAdapter {
    public init() {}

    public var channel: Channel { .sms }
    public var label: String { "SMS" }
    public var addressKind: AddressKind { .phone }

    public var formats: [ChannelFormat] {
        [ChannelFormat(.twilio, channel: .sms, framing: .lines, detection: .line({ TwilioAdapter.looksLikeForm($0) }),
                       parse: { bytes, byteCount, position, limits in
                           [TwilioAdapter.outcome(formBody: bytes, byteCount: byteCount, position: position, limits: limits)]
                       })]
    }

    public var webhook: WebhookRoute? {
        WebhookRoute(path: "webhooks/twilio", verification: .signature(header: "X-Twilio-Signature", secretName: "twilio_auth_token"),
                     provider: "Twilio", summary: "Twilio webhook, one form", refusal: "more than one form")
    }

    /// Twilio posts one form per request; a line break would make a second reading of the same
    /// bytes (as lines) differ from the one that was signed.
    public func webhookItems(body: [UInt8]) -> Result<[InboundOutcome], WebhookRefusal> {
        let form = Self.trimmed(body)
        guard !form.contains(0x0A), !form.contains(0x0D) else {
            return .failure(WebhookRefusal(code: "invalid_form", reason: "a Twilio webhook carries one application/x-www-form-urlencoded form; this body has a line break"))
        }
        return .success([TwilioAdapter.outcome(formBody: Array(form), position: SourcePosition(source: "webhook:twilio", index: 1))])
    }

    public func verifySignature(_ request: SignedRequest, secret: String, hmac: HMACFunctions) -> Bool {
        let parameters = TwilioAdapter.parseForm(Self.trimmed(request.body))
        return (try? WebhookSignature.verifyTwilio(url: request.url, parameters: parameters, header: request.header,
                                                   authToken: secret, hmacSHA1: hmac.sha1)) != nil
    }

    private static func trimmed(_ body: [UInt8]) -> ArraySlice<UInt8> {
        var form = body[...]
        while let last = form.last, last == 0x0A || last == 0x0D || last == 0x20 { form = form.dropLast() }
        return form
    }
}
