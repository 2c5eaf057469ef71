/// Reduces HTML mail to readable plain text: scripts, styles and comments go, tags go, block
/// elements become line or paragraph breaks, list items get a dash, entities are decoded and
/// runs of whitespace collapse as a browser would collapse them.
enum HTMLText {
    private static let skippedElements: Set<String> = ["script", "style", "head", "title", "template", "noscript", "svg"]
    private static let paragraphElements: Set<String> = [
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "blockquote", "pre", "hr",
        "section", "article", "header", "footer", "address", "figure", "form", "fieldset",
    ]
    private static let lineElements: Set<String> = ["div", "tr", "li", "dt", "dd", "caption", "center", "nav", "main", "aside", "body", "html"]

    static func plainText(fromHTML html: String) -> String {
        let s = Array(html.unicodeScalars)
        var out = String.UnicodeScalarView()
        var pendingBreaks = 0
        var pendingSpace = false
        var preDepth = 0
        var i = 0

        func emit(_ scalar: Unicode.Scalar) {
            if !out.isEmpty {
                if pendingBreaks > 0 {
                    while let last = out.last, last == " " { out.removeLast() }
                    for _ in 0..<min(pendingBreaks, 2) { out.append("\n") }
                } else if pendingSpace, let last = out.last, last != "\n", last != " " {
                    out.append(" ")
                }
            }
            pendingBreaks = 0
            pendingSpace = false
            out.append(scalar)
        }
        func lineBreak(_ count: Int) {
            pendingBreaks = max(pendingBreaks, count)
        }

        while i < s.count {
            let c = s[i]
            if c == "<" {
                if matches(s, i, "<!--") {
                    i = find(s, from: i + 4, "-->").map { $0 + 3 } ?? s.count
                    continue
                }
                guard let close = tagEnd(s, from: i + 1) else {
                    emit(c)
                    i += 1
                    continue
                }
                let (name, isClosing) = tagName(s, from: i + 1, to: close)
                i = close + 1
                guard !name.isEmpty else { continue }
                if !isClosing, skippedElements.contains(name) {
                    i = skipElement(s, from: i, name: name)
                    continue
                }
                if name == "br" {
                    if pendingBreaks > 0 { pendingBreaks += 1 } else { pendingBreaks = 1 }
                    if out.isEmpty { pendingBreaks = 0 }
                    continue
                }
                if name == "pre" { preDepth = max(0, preDepth + (isClosing ? -1 : 1)) }
                if paragraphElements.contains(name) {
                    lineBreak(2)
                } else if lineElements.contains(name) {
                    lineBreak(1)
                    if name == "li", !isClosing {
                        emit("-")
                        pendingSpace = true
                    }
                } else if name == "td" || name == "th" {
                    if !isClosing { pendingSpace = true }
                }
                continue
            }
            if c == "&", let (decoded, next) = entity(s, from: i) {
                for scalar in decoded.unicodeScalars {
                    if scalar == "\u{A0}" { pendingSpace = true } else { emit(scalar) }
                }
                i = next
                continue
            }
            if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" {
                if preDepth > 0 {
                    if c == "\n" { lineBreak(1) } else { pendingSpace = true }
                } else {
                    pendingSpace = true
                }
                i += 1
                continue
            }
            emit(c)
            i += 1
        }
        return String(out).trimmedWhitespace()
    }

    private static func matches(_ s: [Unicode.Scalar], _ at: Int, _ text: String) -> Bool {
        var k = at
        for scalar in text.unicodeScalars {
            guard k < s.count else { return false }
            if asciiLower(s[k]) != asciiLower(scalar) { return false }
            k += 1
        }
        return true
    }

    private static func asciiLower(_ c: Unicode.Scalar) -> UInt32 {
        (0x41...0x5A).contains(c.value) ? c.value + 32 : c.value
    }

    private static func find(_ s: [Unicode.Scalar], from: Int, _ text: String) -> Int? {
        var k = from
        while k < s.count {
            if matches(s, k, text) { return k }
            k += 1
        }
        return nil
    }

    /// The index of the `>` ending a tag that starts after `<`, honouring quoted attributes.
    private static func tagEnd(_ s: [Unicode.Scalar], from: Int) -> Int? {
        guard from < s.count else { return nil }
        let first = s[from]
        guard first == "/" || first == "!" || first == "?" || first.properties.isAlphabetic else { return nil }
        var k = from
        var quote: Unicode.Scalar?
        while k < s.count {
            let c = s[k]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == ">" {
                return k
            }
            k += 1
        }
        return nil
    }

    private static func tagName(_ s: [Unicode.Scalar], from: Int, to: Int) -> (String, Bool) {
        var k = from
        var closing = false
        if k < to, s[k] == "/" { closing = true; k += 1 }
        var name = ""
        while k < to, s[k].properties.isAlphabetic || ("0"..."9").contains(s[k]) {
            name.unicodeScalars.append(s[k])
            k += 1
        }
        return (name.lowercased(), closing)
    }

    /// Skips to just after `</name>`. When the element never closes (broken mail HTML often
    /// opens `<head>` and never ends it) only the tag is skipped, so the text is not lost.
    private static func skipElement(_ s: [Unicode.Scalar], from: Int, name: String) -> Int {
        var k = from
        while let start = find(s, from: k, "</" + name) {
            if let end = tagEnd(s, from: start + 1) { return end + 1 }
            k = start + 2
        }
        return from
    }

    /// Decodes `&name;`, `&#NNN;` or `&#xHH;` at `from`; `nil` leaves the `&` as text.
    private static func entity(_ s: [Unicode.Scalar], from: Int) -> (String, Int)? {
        var k = from + 1
        var body = ""
        while k < s.count, k - from <= 32, s[k] != ";" {
            let c = s[k]
            guard c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "#" else { break }
            body.unicodeScalars.append(c)
            k += 1
        }
        let terminated = k < s.count && s[k] == ";"
        let next = terminated ? k + 1 : k
        if body.hasPrefix("#") {
            let digits = body.dropFirst()
            let value: UInt32?
            if digits.first == "x" || digits.first == "X" {
                value = UInt32(digits.dropFirst(), radix: 16)
            } else {
                value = UInt32(digits)
            }
            guard let value else { return nil }
            if value == 0 || value > 0x10FFFF { return ("\u{FFFD}", next) }
            if (0x80...0x9F).contains(value) {
                return (Charsets.windows1252([UInt8(value)]), next)
            }
            return Unicode.Scalar(value).map { (String($0), next) }
        }
        if let decoded = namedEntities[body] { return (decoded, next) }
        if !terminated, let decoded = namedEntities[body.lowercased()], body.count <= 6 { return (decoded, next) }
        return nil
    }

    private static let namedEntities: [String: String] = {
        var table: [String: String] = [
            "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}",
            "euro": "€", "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’",
            "sbquo": "‚", "ldquo": "“", "rdquo": "”", "bdquo": "„", "bull": "•", "trade": "™",
            "dagger": "†", "Dagger": "‡", "permil": "‰", "lsaquo": "‹", "rsaquo": "›",
            "OElig": "Œ", "oelig": "œ", "Scaron": "Š", "scaron": "š", "Yuml": "Ÿ", "fnof": "ƒ",
            "circ": "ˆ", "tilde": "˜", "ensp": " ", "emsp": " ", "thinsp": " ", "zwnj": "", "zwj": "",
            "shy": "", "larr": "←", "rarr": "→", "uarr": "↑", "darr": "↓", "hearts": "♥", "check": "✓",
        ]
        // Latin-1 entity names in code point order from U+00A1.
        let latin1 = [
            "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo",
            "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para",
            "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave",
            "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc",
            "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc",
            "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN",
            "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave",
            "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve",
            "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc", "uuml",
            "yacute", "thorn", "yuml",
        ]
        for (offset, name) in latin1.enumerated() where name != "shy" {
            table[name] = String(Unicode.Scalar(UInt32(0xA1 + offset))!)
        }
        return table
    }()
}

extension String {
    /// Trims leading and trailing Unicode whitespace (including no-break spaces left by HTML).
    func trimmedWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
