@_exported import struct Channels.Channel
import Channels
import Foundation

/// Canonical forms of channel addresses, so that `+49 170 1234567`, `0049-170-1234567` and
/// `whatsapp:+491701234567` all route to the same agent and resolve to the same CRM contact.
public enum AddressNormalizer {
    /// Normalizes a phone number to E.164 (`+491701234567`).
    ///
    /// Spaces, dashes, dots, slashes and parentheses are removed; a `tel:`, `sms:` or `whatsapp:`
    /// prefix (as Twilio sends) is dropped; a leading `00` becomes `+`; a leading `+` is kept.
    /// Digits without a prefix that do not start with `0` are taken as already international,
    /// which is how WhatsApp Cloud API sends `wa_id`s (`491701234567`). A national number with a
    /// single leading `0` can only be normalized when `defaultCallingCode` (e.g. `"49"`) says which
    /// country it belongs to; otherwise it is refused rather than guessed.
    public static func phone(_ raw: String, defaultCallingCode: String? = nil) throws(DomainError) -> String {
        var text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        for scheme in ["tel:", "sms:", "whatsapp:"] where text.lowercased().hasPrefix(scheme) {
            text = String(text.dropFirst(scheme.count))
        }
        // "+49 (0)170 ..." marks the national trunk prefix, which is not dialled internationally.
        if text.hasPrefix("+") || text.hasPrefix("00") || text.hasPrefix("(+") {
            text = text.replacingOccurrences(of: "(0)", with: "").replacingOccurrences(of: "( 0 )", with: "")
        }
        var digits = ""
        var hasPlus = false
        for character in text {
            switch character {
            case "0"..."9": digits.append(character)
            case "+" where digits.isEmpty && !hasPlus: hasPlus = true
            case " ", "-", ".", "/", "(", ")", "\u{00A0}": continue
            default:
                throw DomainError(.invalidAddress, "'\(raw)' is not a phone number: unexpected '\(character)'; write it like +491701234567")
            }
        }
        if !hasPlus {
            if digits.hasPrefix("00") {
                digits.removeFirst(2)
            } else if digits.hasPrefix("0") {
                guard let code = defaultCallingCode?.trimmingCharacters(in: CharacterSet(charactersIn: "+ ")),
                      !code.isEmpty, code.allSatisfy(\.isNumber) else {
                    throw DomainError(.invalidAddress, "'\(raw)' is a national number; write it with the country code, like +491701234567")
                }
                digits = code + digits.dropFirst()
            }
        }
        guard let first = digits.first, first != "0" else {
            throw DomainError(.invalidAddress, "'\(raw)' is not a phone number; write it with the country code, like +491701234567")
        }
        guard (7...15).contains(digits.count) else {
            throw DomainError(.invalidAddress, "'\(raw)' has \(digits.count) digits; an international phone number has 7 to 15 including the country code, like +491701234567")
        }
        return "+" + digits
    }

    /// Normalizes an email address: trimmed and lowercased, with a `mailto:` prefix or a display
    /// name (`Lisa K. <Lisa@Example.de>`) removed.
    ///
    /// The whole address is lowercased, local part included: providers treat local parts
    /// case-insensitively in practice, and a customer who types their address differently must
    /// still find their CRM record.
    public static func email(_ raw: String) throws(DomainError) -> String {
        var text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            text = String(text[text.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        if text.lowercased().hasPrefix("mailto:") { text = String(text.dropFirst(7)) }
        text = text.lowercased()
        guard !containsControlCharacters(text) else {
            throw DomainError(.invalidAddress, "the email address contains a control character (such as NUL); use printable characters only")
        }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !text.contains(where: { $0.isWhitespace || $0 == "," || $0 == ";" || $0 == "<" || $0 == ">" }) else {
            throw DomainError(.invalidAddress, "'\(raw)' is not an email address; write it like info@example.de")
        }
        return text
    }

    /// Normalizes an address on `channel` by the kind of address its adapter declares: phone
    /// numbers (WhatsApp, SMS), email addresses, or an identifier (webchat, Instagram), trimmed and
    /// lowercased, without the handle's prefix (Instagram's `@`).
    public static func address(_ raw: String, on channel: Channel, defaultCallingCode: String? = nil) throws(DomainError) -> String {
        switch channel.adapter.addressKind {
        case .phone:
            return try phone(raw, defaultCallingCode: defaultCallingCode)
        case .email:
            return try email(raw)
        case .identifier(_, let handlePrefix):
            // Identifiers compare case-insensitively: a widget id `HAFF-WEB` is the widget
            // `haff-web`, so no org can bind a case variant of another org's address.
            var text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if let handlePrefix, text.first == handlePrefix { text.removeFirst() }
            text = text.lowercased()
            guard !text.isEmpty, !text.contains(where: \.isWhitespace) else {
                throw DomainError(.invalidAddress, "'\(raw)' is not a \(channel) address; use the widget or account id without spaces")
            }
            guard !containsControlCharacters(text) else {
                throw DomainError(.invalidAddress, "the \(channel) address contains a control character (such as NUL); use printable characters only")
            }
            guard text.utf8.count <= addressBytesMax else {
                throw DomainError(.invalidAddress, "the \(channel) address is \(text.utf8.count) bytes; at most \(addressBytesMax) are accepted")
            }
            return text
        }
    }

    /// The longest identifier (webchat, Instagram) accepted.
    public static let addressBytesMax = 256

    static func containsControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}

/// A normalized address on a channel: the key of the routing table.
public struct ChannelAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public var channel: Channel
    /// Normalized with `AddressNormalizer.address(_:on:)`.
    public var address: String

    public init(channel: Channel, address: String) {
        self.channel = channel
        self.address = address
    }

    /// Normalizes `raw` for `channel`.
    public init(channel: Channel, normalizing raw: String) throws(DomainError) {
        self.init(channel: channel, address: try AddressNormalizer.address(raw, on: channel))
    }

    public var description: String { "\(channel.rawValue):\(address)" }
}

/// One org's agent.
public struct AgentRef: Sendable, Hashable, Codable, CustomStringConvertible {
    public var org: OrgID
    public var agentId: String

    public init(org: OrgID, agentId: String) {
        self.org = org
        self.agentId = agentId
    }

    public var description: String { "\(org)/\(agentId)" }
}

/// Which agent serves each channel address; built from the enabled bindings of the configs in
/// force (the agents read model) and consulted when a config is validated and when a message
/// arrives.
public typealias RoutingTable = [ChannelAddress: AgentRef]

/// Org ids Purser reserves for itself. Config org ids must start with a letter or digit, so these
/// never clash with a real org.
public enum ReservedOrg {
    /// The envelope org of input no org could be determined for: `message.unrouted`, and
    /// `message.rejected` for input rejected before routing.
    public static let unrouted: OrgID = "_unrouted"
}
