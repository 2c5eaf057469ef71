/// RFC 2047 encoded words (`=?charset?B|Q?text?=`) in header values.
enum EncodedWords {
    private enum Piece {
        case plain(String)
        case word(charset: String, bytes: [UInt8])
    }

    /// Decodes every encoded word in `value`. Whitespace between two encoded words is dropped
    /// (RFC 2047 §6.2), and adjacent words in one charset are decoded together because mailers
    /// split multi-byte characters across words.
    static func decode(_ value: String) -> String {
        guard value.contains("=?") else { return value }
        var pieces: [Piece] = []
        var plain = ""
        var rest = Substring(value)
        while let first = rest.first {
            if first == "=", rest.hasPrefix("=?"), let (charset, bytes, after) = parseWord(rest) {
                if !plain.isEmpty { pieces.append(.plain(plain)); plain = "" }
                pieces.append(.word(charset: charset, bytes: bytes))
                rest = after
            } else {
                plain.append(first)
                rest = rest.dropFirst()
            }
        }
        if !plain.isEmpty { pieces.append(.plain(plain)) }

        func isBlank(_ text: String) -> Bool { text.allSatisfy(\.isWhitespace) }
        func word(_ index: Int) -> (String, [UInt8])? {
            guard index < pieces.count, case .word(let charset, let bytes) = pieces[index] else { return nil }
            return (charset, bytes)
        }

        var output = ""
        var i = 0
        while i < pieces.count {
            switch pieces[i] {
            case .plain(let text):
                let betweenWords = i > 0 && word(i - 1) != nil && word(i + 1) != nil
                if !(betweenWords && isBlank(text)) { output += text }
                i += 1
            case .word(let charset, var bytes):
                let name = Charsets.normalize(charset)
                var j = i + 1
                while true {
                    if let (next, more) = word(j), Charsets.normalize(next) == name {
                        bytes += more
                        j += 1
                    } else if j < pieces.count, case .plain(let gap) = pieces[j], isBlank(gap),
                              let (next, more) = word(j + 1), Charsets.normalize(next) == name {
                        bytes += more
                        j += 2
                    } else {
                        break
                    }
                }
                output += Charsets.decode(bytes, charset: charset)
                i = j
            }
        }
        return output
    }

    /// Parses one encoded word at the start of `text`.
    private static func parseWord(_ text: Substring) -> (String, [UInt8], Substring)? {
        let body = text.dropFirst(2)
        guard let q1 = body.firstIndex(of: "?") else { return nil }
        let charset = body[..<q1]
        guard !charset.isEmpty, charset.count <= 64, !charset.contains(where: { $0 == " " || $0 == "\t" }) else { return nil }
        let afterCharset = body[body.index(after: q1)...]
        guard afterCharset.count >= 3 else { return nil }
        let mode = afterCharset.first!.uppercased()
        guard mode == "B" || mode == "Q", afterCharset.dropFirst().first == "?" else { return nil }
        let encoded = afterCharset.dropFirst(2)
        var end = encoded.startIndex
        while end < encoded.endIndex {
            let c = encoded[end]
            if c == "?" {
                let next = encoded.index(after: end)
                guard next < encoded.endIndex, encoded[next] == "=" else { return nil }
                let payload = Array(encoded[..<end].utf8)
                let bytes = mode == "B" ? TransferEncoding.base64(payload) : decodeQ(payload)
                return (String(charset), bytes, encoded[encoded.index(after: next)...])
            }
            if c.isWhitespace { return nil }
            end = encoded.index(after: end)
        }
        return nil
    }

    /// The Q encoding: `_` is a space, `=XX` a byte.
    private static func decodeQ(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < payload.count {
            let c = payload[i]
            if c == 0x5F {
                out.append(0x20)
            } else if c == 0x3D, i + 2 < payload.count, let hi = TransferEncoding.hexValue(payload[i + 1]),
                      let lo = TransferEncoding.hexValue(payload[i + 2]) {
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(c)
            }
            i += 1
        }
        return out
    }
}
