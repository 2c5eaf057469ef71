import Foundation
import PurserCore

/// Turns WhatsApp Cloud API webhook bodies into messages and delivery statuses.
///
/// The receiving business is `metadata.display_phone_number` (as `+digits`, the form channel
/// bindings use) with `phone_number_id` as `channelAccountId`; the sender is `messages[].from`,
/// named by the matching `contacts[].profile.name`. Text, captions, button and list replies
/// (their title as text, their id as `choiceId`), locations, shared contacts and orders become
/// text; media become attachments. Reactions and `unsupported` messages are rejected with the
/// reason, and `statuses[]` become `.status` outcomes.
public enum WhatsAppAdapter {
    /// All outcomes of one webhook body. Also accepts a JSON array of bodies and an object whose
    /// values are bodies (as collected in test fixtures), labelling each by its key.
    public static func outcomes(body: [UInt8], position: SourcePosition,
                                limits: ChannelLimits = .standard) -> [InboundOutcome] {
        if body.count > limits.webhookBodyBytesMax {
            return [rejection(position, .tooLarge, "webhook body is \(body.count) bytes; at most \(limits.webhookBodyBytesMax) are accepted", raw: body, limits: limits)]
        }
        switch JSONSupport.parse(body) {
        case .failure(let why):
            return [rejection(position, .invalidJSON, "not a WhatsApp webhook body: \(why)", raw: body, limits: limits)]
        case .value(let value):
            return outcomes(value: value, raw: body, position: position, limits: limits, allowBundle: true)
        }
    }

    /// Whether a parsed JSON value looks like a Cloud API webhook body.
    static func isWebhook(_ value: Any) -> Bool {
        guard let object = value as? [String: Any] else { return false }
        return (object["object"] as? String) == "whatsapp_business_account" || object["entry"] is [Any]
    }

    /// Whether a parsed value is a webhook, or a bundle (array or keyed object) of webhooks.
    static func isWebhookOrBundle(_ value: Any) -> Bool {
        if isWebhook(value) { return true }
        if let list = value as? [Any] { return list.first.map(isWebhook) ?? false }
        if let object = value as? [String: Any] { return !object.isEmpty && object.values.contains(where: isWebhook) }
        return false
    }

    private static func outcomes(value: Any, raw: [UInt8], position: SourcePosition, limits: ChannelLimits,
                                 allowBundle: Bool) -> [InboundOutcome] {
        if let object = value as? [String: Any], isWebhook(object) {
            return webhookOutcomes(object, raw: raw, position: position, limits: limits)
        }
        if allowBundle, let list = value as? [Any], !list.isEmpty {
            return list.enumerated().flatMap { offset, item in
                var inner = position
                inner.label = [position.label, "[\(offset)]"].compactMap { $0 }.joined()
                return outcomes(value: item, raw: JSONSupport.bytes(of: item), position: inner, limits: limits, allowBundle: false)
            }
        }
        if allowBundle, let object = value as? [String: Any], !object.isEmpty,
           object.values.contains(where: isWebhook) {
            return object.keys.sorted().flatMap { key in
                var inner = position
                inner.label = key
                let item = object[key]!
                return outcomes(value: item, raw: JSONSupport.bytes(of: item), position: inner, limits: limits, allowBundle: false)
            }
        }
        let what: String
        if let object = value as? [String: Any], let kind = object["object"] as? String {
            what = "`object` is `\(kind)`; this reader takes WhatsApp Business Account webhooks (`whatsapp_business_account`)"
        } else {
            what = "expected an object with `object: whatsapp_business_account` and `entry`, got \(JSONSupport.typeName(value))"
        }
        return [rejection(position, .invalidWebhook, "not a WhatsApp webhook body: \(what)", raw: raw, limits: limits)]
    }

    private static func webhookOutcomes(_ body: [String: Any], raw: [UInt8], position: SourcePosition,
                                        limits: ChannelLimits) -> [InboundOutcome] {
        if let kind = body["object"] as? String, kind != "whatsapp_business_account" {
            return [rejection(position, .invalidWebhook, "`object` is `\(kind)`; this reader takes WhatsApp Business Account webhooks", raw: raw, limits: limits)]
        }
        guard let entries = body["entry"] as? [Any] else {
            return [rejection(position, .invalidWebhook, "webhook body has no `entry` array", raw: raw, limits: limits)]
        }
        var results: [InboundOutcome] = []
        var index = 0
        func place() -> SourcePosition {
            index += 1
            var inner = position
            inner.index = index
            return inner
        }
        for entry in entries {
            guard let entry = entry as? [String: Any], let changes = entry["changes"] as? [Any] else {
                results.append(rejection(place(), .invalidWebhook, "webhook entry has no `changes` array", raw: raw, limits: limits))
                continue
            }
            for change in changes {
                guard let change = change as? [String: Any], let value = change["value"] as? [String: Any] else {
                    results.append(rejection(place(), .invalidWebhook, "webhook change has no `value` object", raw: raw, limits: limits))
                    continue
                }
                let field = change["field"] as? String ?? "messages"
                guard field == "messages" else {
                    results.append(rejection(place(), .notAMessage, "webhook field `\(field)` carries no customer message", raw: raw, limits: limits))
                    continue
                }
                let messages = value["messages"] as? [Any] ?? []
                let statuses = value["statuses"] as? [Any] ?? []
                let metadata = value["metadata"] as? [String: Any] ?? [:]
                let businessNumber = (metadata["display_phone_number"] as? String).map(normalizePhone)
                let phoneNumberID = JSONSupport.string(metadata["phone_number_id"])
                var names: [String: String] = [:]
                for contact in value["contacts"] as? [Any] ?? [] {
                    guard let contact = contact as? [String: Any], let waID = JSONSupport.string(contact["wa_id"]),
                          let name = (contact["profile"] as? [String: Any])?["name"] as? String else { continue }
                    names[normalizePhone(waID)] = name
                }
                for item in messages {
                    let here = place()
                    guard let item = item as? [String: Any] else {
                        results.append(rejection(here, .invalidWebhook, "`messages[]` entry is not an object", raw: raw, limits: limits))
                        continue
                    }
                    results.append(messageOutcome(item, to: businessNumber ?? phoneNumberID, accountID: phoneNumberID,
                                                  names: names, valueErrors: value["errors"], raw: raw,
                                                  position: here, limits: limits))
                }
                for item in statuses {
                    let here = place()
                    guard let item = item as? [String: Any] else {
                        results.append(rejection(here, .invalidWebhook, "`statuses[]` entry is not an object", raw: raw, limits: limits))
                        continue
                    }
                    results.append(statusOutcome(item, business: businessNumber ?? phoneNumberID, raw: raw, position: here, limits: limits))
                }
                if messages.isEmpty && statuses.isEmpty {
                    let errors = describeErrors(value["errors"]).map { ": \($0)" } ?? ""
                    results.append(rejection(place(), .notAMessage, "webhook value has neither `messages` nor `statuses`\(errors)", raw: raw, limits: limits))
                }
            }
        }
        if results.isEmpty {
            results.append(rejection(position, .notAMessage, "webhook body has no entries", raw: raw, limits: limits))
        }
        return results
    }

    private static func messageOutcome(_ item: [String: Any], to: String?, accountID: String?, names: [String: String],
                                       valueErrors: Any?, raw: [UInt8], position: SourcePosition,
                                       limits: ChannelLimits) -> InboundOutcome {
        let type = item["type"] as? String ?? "unknown"
        guard let sender = JSONSupport.string(item["from"]).map(normalizePhone) else {
            return rejection(position, .invalidWebhook, "WhatsApp \(type) message has no `from`", raw: raw, limits: limits)
        }
        let id = JSONSupport.string(item["id"])
        let context = item["context"] as? [String: Any]
        var text = ""
        var choiceID: String?
        var attachments: [Attachment] = []
        let details = item[type] as? [String: Any]
        switch type {
        case "text":
            text = details?["body"] as? String ?? ""
        case "interactive":
            guard let details, let kind = details["type"] as? String, let reply = details[kind] as? [String: Any] else {
                let why = describeErrors(item["errors"]) ?? describeErrors(valueErrors) ?? "no reply in the payload"
                return rejection(position, .unsupportedMessageType, "WhatsApp interactive message from \(sender) carries no usable reply (\(why))", raw: raw, limits: limits)
            }
            text = reply["title"] as? String ?? reply["body"] as? String ?? (reply["response_json"] as? String) ?? ""
            choiceID = JSONSupport.string(reply["id"]) ?? reply["name"] as? String
        case "button":
            text = details?["text"] as? String ?? ""
            choiceID = details?["payload"] as? String
        case "image", "video", "audio", "document", "sticker":
            let voice = (details?["voice"] as? Bool) == true
            attachments.append(Attachment(
                kind: type == "audio" && voice ? "voice" : type, mimeType: details?["mime_type"] as? String,
                fileName: details?["filename"] as? String, url: details?["url"] as? String,
                mediaId: JSONSupport.string(details?["id"])))
            text = details?["caption"] as? String ?? ""
        case "location":
            text = describeLocation(details ?? [:])
        case "contacts":
            text = describeContacts(item["contacts"] as? [Any] ?? [])
        case "order":
            text = describeOrder(details ?? [:])
        case "reaction":
            let emoji = (details?["emoji"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            let target = details?["message_id"] as? String ?? "a message"
            let what = emoji.map { "reaction \($0) to \(target)" } ?? "removal of a reaction to \(target)"
            return rejection(position, .unsupportedMessageType, "WhatsApp \(what) from \(sender) is not a message to answer", raw: raw, limits: limits)
        case "system":
            let body = details?["body"] as? String ?? "system notice"
            return rejection(position, .notAMessage, "WhatsApp system message (\(body)) is not from a customer", raw: raw, limits: limits)
        default:
            let why = describeErrors(item["errors"]) ?? describeErrors(valueErrors)
            let subtype = (item["unsupported"] as? [String: Any])?["type"] as? String
            var reason = "WhatsApp message type `\(type)`\(subtype.map { " (\($0))" } ?? "") from \(sender) is not supported"
            if let why { reason += ": \(why)" }
            return rejection(position, .unsupportedMessageType, reason, raw: raw, limits: limits)
        }
        let message = InboundMessage(
            channel: .whatsapp, to: to ?? "", from: sender, text: text, externalMessageId: id,
            receivedAt: ProviderTime.parseUnixSeconds(item["timestamp"]),
            contactName: (names[sender] ?? (names.count == 1 ? names.values.first : nil)).map { truncateUTF8($0, maxBytes: limits.contactNameBytesMax) },
            replyToMessageId: context?["id"] as? String, choiceId: choiceID, channelAccountId: accountID,
            attachments: attachments)
        let problems = message.problems(limits: limits)
        guard problems.isEmpty else {
            let code: ChannelError.Code = problems.allSatisfy { $0.contains("at most") } ? .tooLarge : .invalidWebhook
            return rejection(position, code, "WhatsApp \(type) message from \(sender): " + problems.joined(separator: "; "), raw: raw, limits: limits)
        }
        return .message(message, position)
    }

    private static func statusOutcome(_ item: [String: Any], business: String?, raw: [UInt8], position: SourcePosition,
                                      limits: ChannelLimits) -> InboundOutcome {
        guard let id = JSONSupport.string(item["id"]), let status = item["status"] as? String else {
            return rejection(position, .invalidWebhook, "WhatsApp status without `id` or `status`", raw: raw, limits: limits)
        }
        let firstError = (item["errors"] as? [Any])?.first as? [String: Any]
        let update = StatusUpdate(
            channel: .whatsapp, externalMessageId: id, status: status,
            recipient: JSONSupport.string(item["recipient_id"]).map(normalizePhone),
            businessAddress: business,
            timestamp: ProviderTime.parseUnixSeconds(item["timestamp"]),
            errorCode: firstError.flatMap { JSONSupport.string($0["code"]) },
            errorMessage: describeErrors(item["errors"]))
        return .status(update, position)
    }

    /// `+` and the digits for phone-like values (`16505551234`, `+1 650-555-1234`); anything else
    /// (placeholders, group ids) is returned trimmed and unchanged.
    public static func normalizePhone(_ raw: String) -> String {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        var digits = ""
        for (offset, c) in trimmed.enumerated() {
            if c.isASCII, c.isNumber { digits.append(c); continue }
            if c == "+" && offset == 0 { continue }
            if c == " " || c == "-" || c == "(" || c == ")" || c == "." { continue }
            return trimmed
        }
        return digits.count >= 5 ? "+" + digits : trimmed
    }

    private static func describeErrors(_ value: Any?) -> String? {
        guard let list = value as? [Any], !list.isEmpty else { return nil }
        let parts = list.compactMap { item -> String? in
            guard let error = item as? [String: Any] else { return nil }
            var text = ""
            if let code = JSONSupport.string(error["code"]) { text += "code \(code): " }
            text += error["title"] as? String ?? error["message"] as? String ?? "error"
            if let details = (error["error_data"] as? [String: Any])?["details"] as? String { text += " (\(details))" }
            return text
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    private static func describeLocation(_ location: [String: Any]) -> String {
        var parts: [String] = []
        if let name = location["name"] as? String, !name.isEmpty { parts.append(name) }
        if let address = location["address"] as? String, !address.isEmpty { parts.append(address) }
        if let lat = JSONSupport.double(location["latitude"]), let lon = JSONSupport.double(location["longitude"]) {
            parts.append("(\(lat), \(lon))")
        }
        if let url = location["url"] as? String, !url.isEmpty { parts.append(url) }
        return "Shared location: " + (parts.isEmpty ? "unknown" : parts.joined(separator: ", "))
    }

    private static func describeContacts(_ contacts: [Any]) -> String {
        let people = contacts.compactMap { item -> String? in
            guard let contact = item as? [String: Any] else { return nil }
            let name = (contact["name"] as? [String: Any])?["formatted_name"] as? String ?? "unnamed"
            let phones = (contact["phones"] as? [Any] ?? []).compactMap { ($0 as? [String: Any])?["phone"] as? String }
            return phones.isEmpty ? name : "\(name) (\(phones.joined(separator: ", ")))"
        }
        return "Shared contacts: " + (people.isEmpty ? "none" : people.joined(separator: "; "))
    }

    private static func describeOrder(_ order: [String: Any]) -> String {
        var lines: [String] = []
        if let note = order["text"] as? String, !note.isEmpty { lines.append(note) }
        let items = (order["product_items"] as? [Any] ?? []).compactMap { item -> String? in
            guard let product = item as? [String: Any] else { return nil }
            let id = JSONSupport.string(product["product_retailer_id"]) ?? "item"
            let quantity = JSONSupport.string(product["quantity"]) ?? "1"
            var text = "\(quantity) × \(id)"
            if let price = JSONSupport.string(product["item_price"]) {
                let currency = (product["currency"] as? String).map { " " + $0 } ?? ""
                text += " at \(price)\(currency)"
            }
            return text
        }
        let catalog = JSONSupport.string(order["catalog_id"]).map { " from catalog \($0)" } ?? ""
        lines.insert("Order\(catalog): " + (items.isEmpty ? "no items" : items.joined(separator: ", ")), at: 0)
        return lines.joined(separator: "\n")
    }

    private static func rejection(_ position: SourcePosition, _ code: ChannelError.Code, _ reason: String,
                                  raw: [UInt8], limits: ChannelLimits) -> InboundOutcome {
        .rejected(Rejection(position: position, code: code, reason: reason, raw: Data(raw.prefix(limits.rawBytesKeptMax)),
                            rawByteCount: raw.count, channel: .whatsapp))
    }
}

extension Channel {
    public static let whatsapp = Channel(declaring: "whatsapp")
}

extension InputFormat {
    /// WhatsApp Cloud API webhook bodies: one (possibly pretty-printed) document, one body per
    /// line, or an object or array whose values are bodies.
    public static let whatsapp = InputFormat(declaring: "whatsapp")
}

/// WhatsApp through the Cloud API: webhook bodies signed with `X-Hub-Signature-256`, phone
/// numbers as addresses.
public struct WhatsAppChannel: ChannelAdapter {
    public init() {}

    public var channel: Channel { .whatsapp }
    public var addressKind: AddressKind { .phone }

    public var formats: [ChannelFormat] {
        [ChannelFormat(.whatsapp, channel: .whatsapp, framing: .jsonBodies,
                       detection: .json({ WhatsAppAdapter.isWebhookOrBundle($0) }, marker: "\"whatsapp_business_account\""),
                       parse: { bytes, _, position, limits in WhatsAppAdapter.outcomes(body: bytes, position: position, limits: limits) })]
    }

    public var webhook: WebhookRoute? {
        WebhookRoute(path: "webhooks/whatsapp", verification: .signature(header: "X-Hub-Signature-256", secretName: "whatsapp_app_secret"),
                     provider: "WhatsApp", handshake: true)
    }

    public func verifySignature(_ request: SignedRequest, secret: String, hmac: HMACFunctions) -> Bool {
        (try? WebhookSignature.verifyWhatsApp(body: Data(request.body), header: request.header, appSecret: secret, hmacSHA256: hmac.sha256)) != nil
    }

    /// Meta's subscription handshake: echo `hub.challenge` when `hub.verify_token` is ours.
    public func answerHandshake(query: [String: String], verifyTokens: [String]) -> HandshakeAnswer? {
        guard query["hub.mode"] == "subscribe", let token = query["hub.verify_token"], let challenge = query["hub.challenge"] else {
            return .invalid("expected hub.mode=subscribe, hub.verify_token and hub.challenge")
        }
        guard verifyTokens.contains(where: { WebhookSignature.constantTimeEquals(Array($0.utf8), Array(token.utf8)) }) else {
            return .forbidden("the verify token does not match")
        }
        return .accept(challenge)
    }
}
