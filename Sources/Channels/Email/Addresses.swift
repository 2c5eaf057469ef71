import Foundation

/// A mailbox from an address header: `"Max M." <max@x.de>` → address `max@x.de`, name `Max M.`.
public struct MailAddress: Sendable, Hashable {
    /// The addr-spec, lowercased (mail routing and contact lookup treat it case-insensitively).
    public var address: String
    /// The display name, RFC 2047 decoded and unquoted; `nil` when there is none.
    public var name: String?

    public init(address: String, name: String? = nil) {
        self.address = address
        self.name = name
    }

    /// Parses an address-list header value (`From`, `To`, `Cc`): display names, quoted strings
    /// with commas, angle addresses, old `addr (Name)` comments and groups (`team: a@x, b@y;`).
    /// Entries without an `@` are dropped.
    public static func parseList(_ raw: String) -> [MailAddress] {
        var result: [MailAddress] = []
        var phrase = ""
        var angle: String?
        var comment = ""
        let chars = Array(raw)
        var i = 0

        func finish() {
            var address: String
            var name: String?
            if let angle {
                address = angle
                name = phrase
            } else {
                address = phrase
                name = comment.isEmpty ? nil : comment
            }
            address = address.trimmingCharacters(in: .whitespacesAndNewlines)
            if address.lowercased().hasPrefix("mailto:") { address = String(address.dropFirst(7)) }
            let cleanedName = name.map { EncodedWords.decode($0).split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            if address.contains("@"), !address.contains(where: { $0 == " " || $0 == "\t" }) {
                let finalName = (cleanedName?.isEmpty ?? true) ? nil : cleanedName
                result.append(MailAddress(address: address.lowercased(), name: finalName))
            }
            phrase = ""
            angle = nil
            comment = ""
        }

        while i < chars.count {
            let c = chars[i]
            switch c {
            case "\"":
                i += 1
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    phrase.append(chars[i])
                    i += 1
                }
            case "(":
                var depth = 1
                var text = ""
                i += 1
                while i < chars.count, depth > 0 {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1; text.append(chars[i]); i += 1; continue }
                    if chars[i] == "(" { depth += 1 }
                    if chars[i] == ")" { depth -= 1; if depth == 0 { break } }
                    text.append(chars[i])
                    i += 1
                }
                if comment.isEmpty { comment = text.trimmingCharacters(in: .whitespaces) }
            case "<":
                var text = ""
                i += 1
                while i < chars.count, chars[i] != ">" {
                    text.append(chars[i])
                    i += 1
                }
                angle = text
            case ",", ";":
                finish()
            case ":":
                // A group name ends here; its members follow.
                if angle == nil { phrase = ""; comment = "" } else { phrase.append(c) }
            default:
                phrase.append(c)
            }
            i += 1
        }
        finish()
        return result
    }
}

enum MessageIDs {
    /// The ids in a `Message-ID`, `In-Reply-To` or `References` value, without angle brackets.
    /// Values without brackets (some mailers) fall back to whitespace-separated tokens.
    static func parse(_ raw: String?) -> [String] {
        guard let raw else { return [] }
        var ids: [String] = []
        var current: String?
        for c in raw {
            if c == "<" {
                current = ""
            } else if c == ">" {
                if let id = current?.trimmingCharacters(in: .whitespaces), !id.isEmpty { ids.append(id) }
                current = nil
            } else if current != nil, !c.isWhitespace {
                current!.append(c)
            }
        }
        if ids.isEmpty {
            ids = raw.split(whereSeparator: { $0.isWhitespace || $0 == "," }).map(String.init).filter { $0.contains("@") }
        }
        return ids
    }
}
