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
    static func isWebhook(_ value: JSONValue) -> Bool {
        guard let object = value.objectValue else { return false }
        return (object["object"]?.stringValue) == "whatsapp_business_account" || object["entry"]?.arrayValue != nil
    }

    /// Whether a parsed value is a webhook, or a bundle (array or keyed object) of webhooks.
    static func isWebhookOrBundle(_ value: JSONValue) -> Bool {
        if isWebhook(value) { return true }
        if let list = value.arrayValue { return list.first.map(isWebhook) ?? false }
        if let object = value.objectValue { return !object.isEmpty && object.values.contains(where: isWebhook) }
        return false
    }

    private static func outcomes(value: JSONValue, raw: [UInt8], position: SourcePosition, limits: ChannelLimits,
                                 allowBundle: Bool) -> [InboundOutcome] {
        if let object = value.objectValue, isWebhook(value) {
            return webhookOutcomes(object, raw: raw, position: position, limits: limits)
        }
        if allowBundle, let list = value.arrayValue, !list.isEmpty {
            return list.enumerated().flatMap { offset, item in
                var inner = position
                inner.label = [position.label, "[\(offset)]"].compactMap { $0 }.joined()
                return outcomes(value: item, raw: JSONSupport.bytes(of: item), position: inner, limits: limits, allowBundle: false)
            }
        }
        if allowBundle, let object = value.objectValue, !object.isEmpty,
           object.values.contains(where: isWebhook) {
            return object.keys.sorted().flatMap { key in
                var inner = position
                inner.label = key
                let item = object[key]!
                return outcomes(value: item, raw: JSONSupport.bytes(of: item), position: inner, limits: limits, allowBundle: false)
            }
        }
        let what: String
        if let object = value.objectValue, let kind = object["object"]?.stringValue {
            what = "`object` is `\(kind)`; this reader takes WhatsApp Business Account webhooks (`whatsapp_business_account`)"
        } else {
            what = "expected an object with `object: whatsapp_business_account` and `entry`, got \(JSONSupport.typeName(value))"
        }
        return [rejection(position, .invalidWebhook, "not a WhatsApp webhook body: \(what)", raw: raw, limits: limits)]
    }

    private static func webhookOutcomes(_ body: [String: JSONValue], raw: [UInt8], position: SourcePosition,
                                        limits: ChannelLimits) -> [InboundOutcome] {
        if let kind = body["object"]?.stringValue, kind != "whatsapp_business_account" {
            return [rejection(position, .invalidWebhook, "`object` is `\(kind)`; this reader takes WhatsApp Business Account webhooks", raw: raw, limits: limits)]
        }
        guard let entries = body["entry"]?.arrayValue else {
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
            guard let entry = entry.objectValue, let changes = entry["changes"]?.arrayValue else {
                results.append(rejection(place(), .invalidWebhook, "webhook entry has no `changes` array", raw: raw, limits: limits))
                continue
            }
            for change in changes {
                guard let change = change.objectValue, let value = change["value"]?.objectValue else {
                    results.append(rejection(place(), .invalidWebhook, "webhook change has no `value` object", raw: raw, limits: limits))
                    continue
                }
                let field = change["field"]?.stringValue ?? "messages"
                guard field == "messages" else {
                    results.append(rejection(place(), .notAMessage, "webhook field `\(field)` carries no customer message", raw: raw, limits: limits))
                    continue
                }
                let messages = value["messages"]?.arrayValue ?? []
                let statuses = value["statuses"]?.arrayValue ?? []
                let metadata = value["metadata"]?.objectValue ?? [:]
                let businessNumber = (metadata["display_phone_number"]?.stringValue).map(normalizePhone)
                let phoneNumberID = JSONSupport.string(metadata["phone_number_id"])
                var names: [String: String] = [:]
                for contact in value["contacts"]?.arrayValue ?? [] {
                    guard let contact = contact.objectValue, let waID = JSONSupport.string(contact["wa_id"]),
                          let name = contact["profile"]?["name"]?.stringValue else { continue }
                    names[normalizePhone(waID)] = name
                }
                for item in messages {
                    let here = place()
                    guard let item = item.objectValue else {
                        results.append(rejection(here, .invalidWebhook, "`messages[]` entry is not an object", raw: raw, limits: limits))
                        continue
                    }
                    results.append(messageOutcome(item, to: businessNumber ?? phoneNumberID, accountID: phoneNumberID,
                                                  names: names, valueErrors: value["errors"], raw: raw,
                                                  position: here, limits: limits))
                }
                for item in statuses {
                    let here = place()
                    guard let item = item.objectValue else {
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

    private static func messageOutcome(_ item: [String: JSONValue], to: String?, accountID: String?, names: [String: String],
                                       valueErrors: JSONValue?, raw: [UInt8], position: SourcePosition,
                                       limits: ChannelLimits) -> InboundOutcome {
        let type = item["type"]?.stringValue ?? "unknown"
        guard let sender = JSONSupport.string(item["from"]).map(normalizePhone) else {
            return rejection(position, .invalidWebhook, "WhatsApp \(type) message has no `from`", raw: raw, limits: limits)
        }
        let id = JSONSupport.string(item["id"])
        let context = item["context"]?.objectValue
        var text = ""
        var choiceID: String?
        var attachments: [Attachment] = []
        let details = item[type]?.objectValue
        switch type {
        case "text":
            text = details?["body"]?.stringValue ?? ""
        case "interactive":
            guard let details, let kind = details["type"]?.stringValue, let reply = details[kind]?.objectValue else {
                let why = describeErrors(item["errors"]) ?? describeErrors(valueErrors) ?? "no reply in the payload"
                return rejection(position, .unsupportedMessageType, "WhatsApp interactive message from \(sender) carries no usable reply (\(why))", raw: raw, limits: limits)
            }
            text = reply["title"]?.stringValue ?? reply["body"]?.stringValue ?? (reply["response_json"]?.stringValue) ?? ""
            choiceID = JSONSupport.string(reply["id"]) ?? reply["name"]?.stringValue
        case "button":
            text = details?["text"]?.stringValue ?? ""
            choiceID = details?["payload"]?.stringValue
        case "image", "video", "audio", "document", "sticker":
            let voice = (details?["voice"]?.boolValue) == true
            attachments.append(Attachment(
                kind: type == "audio" && voice ? "voice" : type, mimeType: details?["mime_type"]?.stringValue,
                fileName: details?["filename"]?.stringValue, url: details?["url"]?.stringValue,
                mediaId: JSONSupport.string(details?["id"])))
            text = details?["caption"]?.stringValue ?? ""
        case "location":
            text = describeLocation(details ?? [:])
        case "contacts":
            text = describeContacts(item["contacts"]?.arrayValue ?? [])
        case "order":
            text = describeOrder(details ?? [:])
        case "reaction":
            let emoji = (details?["emoji"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 }
            let target = details?["message_id"]?.stringValue ?? "a message"
            let what = emoji.map { "reaction \($0) to \(target)" } ?? "removal of a reaction to \(target)"
            return rejection(position, .unsupportedMessageType, "WhatsApp \(what) from \(sender) is not a message to answer", raw: raw, limits: limits)
        case "system":
            let body = details?["body"]?.stringValue ?? "system notice"
            return rejection(position, .notAMessage, "WhatsApp system message (\(body)) is not from a customer", raw: raw, limits: limits)
        default:
            let why = describeErrors(item["errors"]) ?? describeErrors(valueErrors)
            let subtype = item["unsupported"]?["type"]?.stringValue
            var reason = "WhatsApp message type `\(type)`\(subtype.map { " (\($0))" } ?? "") from \(sender) is not supported"
            if let why { reason += ": \(why)" }
            return rejection(position, .unsupportedMessageType, reason, raw: raw, limits: limits)
        }
        let message = InboundMessage(
            channel: .whatsapp, to: to ?? "", from: sender, text: text, externalMessageId: id,
            receivedAt: ProviderTime.parseUnixSeconds(item["timestamp"]),
            contactName: (names[sender] ?? (names.count == 1 ? names.values.first : nil)).map { truncateUTF8($0, maxBytes: limits.contactNameBytesMax) },
            replyToMessageId: context?["id"]?.stringValue, choiceId: choiceID, channelAccountId: accountID,
            attachments: attachments)
        let problems = message.problems(limits: limits)
        guard problems.isEmpty else {
            let code: ChannelError.Code = problems.allSatisfy { $0.contains("at most") } ? .tooLarge : .invalidWebhook
            return rejection(position, code, "WhatsApp \(type) message from \(sender): " + problems.joined(separator: "; "), raw: raw, limits: limits)
        }
        return .message(message, position)
    }

    private static func statusOutcome(_ item: [String: JSONValue], business: String?, raw: [UInt8], position: SourcePosition,
                                      limits: ChannelLimits) -> InboundOutcome {
        guard let id = JSONSupport.string(item["id"]), let status = item["status"]?.stringValue else {
            return rejection(position, .invalidWebhook, "WhatsApp status without `id` or `status`", raw: raw, limits: limits)
        }
        let firstError = item["errors"]?[0]?.objectValue
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

    private static func describeErrors(_ value: JSONValue?) -> String? {
        guard let list = value?.arrayValue, !list.isEmpty else { return nil }
        let parts = list.compactMap { item -> String? in
            guard let error = item.objectValue else { return nil }
            var text = ""
            if let code = JSONSupport.string(error["code"]) { text += "code \(code): " }
            text += error["title"]?.stringValue ?? error["message"]?.stringValue ?? "error"
            if let details = error["error_data"]?["details"]?.stringValue { text += " (\(details))" }
            return text
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    private static func describeLocation(_ location: [String: JSONValue]) -> String {
        var parts: [String] = []
        if let name = location["name"]?.stringValue, !name.isEmpty { parts.append(name) }
        if let address = location["address"]?.stringValue, !address.isEmpty { parts.append(address) }
        if let lat = JSONSupport.double(location["latitude"]), let lon = JSONSupport.double(location["longitude"]) {
            parts.append("(\(lat), \(lon))")
        }
        if let url = location["url"]?.stringValue, !url.isEmpty { parts.append(url) }
        return "Shared location: " + (parts.isEmpty ? "unknown" : parts.joined(separator: ", "))
    }

    private static func describeContacts(_ contacts: [JSONValue]) -> String {
        let people = contacts.compactMap { item -> String? in
            guard let contact = item.objectValue else { return nil }
            let name = contact["name"]?["formatted_name"]?.stringValue ?? "unnamed"
            let phones = (contact["phones"]?.arrayValue ?? []).compactMap { $0["phone"]?.stringValue }
            return phones.isEmpty ? name : "\(name) (\(phones.joined(separator: ", ")))"
        }
        return "Shared contacts: " + (people.isEmpty ? "none" : people.joined(separator: "; "))
    }

    private static func describeOrder(_ order: [String: JSONValue]) -> String {
        var lines: [String] = []
        if let note = order["text"]?.stringValue, !note.isEmpty { lines.append(note) }
        let items = (order["product_items"]?.arrayValue ?? []).compactMap { item -> String? in
            guard let product = item.objectValue else { return nil }
            let id = JSONSupport.string(product["product_retailer_id"]) ?? "item"
            let quantity = JSONSupport.string(product["quantity"]) ?? "1"
            var text = "\(quantity) × \(id)"
            if let price = JSONSupport.string(product["item_price"]) {
                let currency = (product["currency"]?.stringValue).map { " " + $0 } ?? ""
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
    public var label: String { "WhatsApp" }
    public var addressKind: AddressKind { .phone }

    public var formats: [ChannelFormat] {
        [ChannelFormat(.whatsapp, channel: .whatsapp, framing: .jsonBodies,
                       detection: .json({ WhatsAppAdapter.isWebhookOrBundle($0) }, marker: "\"whatsapp_business_account\""),
                       parse: { bytes, _, position, limits in WhatsAppAdapter.outcomes(body: bytes, position: position, limits: limits) })]
    }

    public var webhook: WebhookRoute? {
        WebhookRoute(path: "webhooks/whatsapp", verification: .signature(header: "X-Hub-Signature-256", secretName: "whatsapp_app_secret"),
                     provider: "WhatsApp", summary: "WhatsApp Cloud API webhook", body: Self.body,
                     handshake: .init(summary: "Meta's subscription handshake", queryParameters: ["hub.mode", "hub.verify_token", "hub.challenge"]))
    }

    /// A Cloud API webhook body as Meta posts it (docs/INPUT-FORMATS.md): only the envelope,
    /// as the reader refuses the rest item by item.
    static let body = WebhookRoute.Body(name: "WhatsAppWebhookBody", schema: [
        "type": "object", "description": "a Cloud API webhook: entries of changes carrying messages and statuses",
        "additionalProperties": true, "required": ["entry", "object"],
        "properties": [
            "object": ["type": "string", "enum": ["whatsapp_business_account"]],
            "entry": ["type": "array", "items": [
                "type": "object", "description": "one business account's changes", "additionalProperties": true,
                "properties": [
                    "id": ["type": "string"],
                    "changes": ["type": "array", "items": ["type": "object", "description": "a change: field and value", "additionalProperties": true]],
                ],
            ]],
        ],
    ])

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
