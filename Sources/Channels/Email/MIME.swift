import Foundation

/// A header block: unfolded fields in order, names compared case-insensitively.
struct MIMEHeaders: Sendable {
    var fields: [(name: String, value: String)] = []

    /// The first field called `name`, unfolded, raw (encoded words not yet decoded).
    func first(_ name: String) -> String? {
        let key = name.lowercased()
        return fields.first { $0.name == key }?.value
    }

    func all(_ name: String) -> [String] {
        let key = name.lowercased()
        return fields.filter { $0.name == key }.map(\.value)
    }
}

/// A header value with parameters: `text/plain; charset="iso-8859-1"`.
struct HeaderValue: Sendable {
    /// The value before the first `;`, lowercased (`text/plain`, `attachment`).
    var value: String
    /// Parameters by lowercased name; RFC 2231 continuations and charsets already resolved.
    var parameters: [String: String]

    static func parse(_ raw: String?) -> HeaderValue {
        guard let raw else { return HeaderValue(value: "", parameters: [:]) }
        var segments: [String] = []
        var current = ""
        var inQuotes = false
        var escaped = false
        for c in raw {
            if escaped {
                current.append(c)
                escaped = false
                continue
            }
            if inQuotes && c == "\\" { escaped = true; current.append(c); continue }
            if c == "\"" { inQuotes.toggle() }
            if c == ";" && !inQuotes {
                segments.append(current)
                current = ""
                continue
            }
            current.append(c)
        }
        segments.append(current)
        let main = segments[0].trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        var pieces: [(String, String, Bool)] = []
        for segment in segments.dropFirst() {
            guard let eq = segment.firstIndex(of: "=") else { continue }
            let name = segment[..<eq].trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            var value = segment[segment.index(after: eq)...].trimmingCharacters(in: .whitespacesAndNewlines)
            let quoted = value.hasPrefix("\"")
            if quoted { value = unquote(value) }
            if !name.isEmpty { pieces.append((name, value, quoted)) }
        }
        return HeaderValue(value: main, parameters: resolve(pieces))
    }

    /// Removes surrounding double quotes and backslash escapes.
    static func unquote(_ text: String) -> String {
        var out = ""
        var chars = Substring(text)
        if chars.first == "\"" { chars = chars.dropFirst() }
        var escaped = false
        for c in chars {
            if escaped { out.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "\"" { break }
            out.append(c)
        }
        return out
    }

    /// RFC 2231: `name*0*=utf-8''%E2%82%AC; name*1=rest` and `name*=charset''value`.
    private static func resolve(_ pieces: [(String, String, Bool)]) -> [String: String] {
        var plain: [String: String] = [:]
        var sections: [String: [(Int, String, Bool)]] = [:]
        for (name, value, _) in pieces {
            guard let star = name.firstIndex(of: "*") else {
                if plain[name] == nil { plain[name] = value }
                continue
            }
            let base = String(name[..<star])
            let tail = name[name.index(after: star)...]
            let extended = tail.hasSuffix("*") || tail.isEmpty
            let number = Int(tail.trimmingCharacters(in: CharacterSet(charactersIn: "*"))) ?? 0
            sections[base, default: []].append((number, value, extended))
        }
        for (base, parts) in sections {
            var bytes: [UInt8] = []
            var charset: String?
            for (index, part) in parts.sorted(by: { $0.0 < $1.0 }).enumerated() {
                var value = Substring(part.1)
                if part.2 {
                    if index == 0 {
                        let fields = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                        if fields.count == 3 {
                            charset = String(fields[0])
                            value = fields[2]
                        }
                    }
                    bytes += percentDecode(value)
                } else {
                    bytes += Array(value.utf8)
                }
            }
            plain[base] = Charsets.decode(bytes, charset: charset ?? "utf-8")
        }
        return plain.mapValues { EncodedWords.decode($0) }
    }

    private static func percentDecode(_ text: Substring) -> [UInt8] {
        let utf8 = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < utf8.count {
            if utf8[i] == 0x25, i + 2 < utf8.count, let hi = TransferEncoding.hexValue(utf8[i + 1]),
               let lo = TransferEncoding.hexValue(utf8[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(utf8[i])
                i += 1
            }
        }
        return out
    }
}

/// One MIME entity: a whole mail or one part of a multipart, with its children parsed.
struct MIMEPart: Sendable {
    var headers: MIMEHeaders
    /// The body as transmitted (transfer encoding not yet undone), line ends as `\n`.
    var rawBody: ArraySlice<UInt8>
    var contentType: HeaderValue
    var children: [MIMEPart] = []

    var mediaType: String { contentType.value.isEmpty ? "text/plain" : contentType.value }
    var isMultipart: Bool { mediaType.hasPrefix("multipart/") }
    var isText: Bool { mediaType.hasPrefix("text/") }

    var disposition: HeaderValue { HeaderValue.parse(headers.first("content-disposition")) }
    var isAttachment: Bool { disposition.value == "attachment" }
    var fileName: String? { disposition.parameters["filename"] ?? contentType.parameters["name"] }

    /// The body with its transfer encoding undone.
    var decodedBody: [UInt8] {
        TransferEncoding.decode(rawBody, encoding: headers.first("content-transfer-encoding"))
    }

    /// The body as text in its declared charset.
    var decodedText: String {
        Charsets.decode(decodedBody, charset: contentType.parameters["charset"])
    }
}

/// Parses RFC 5322 / MIME messages from bytes.
enum MIMEParser {
    /// Parses a whole message. Line ends are normalized to `\n` first so every later step deals
    /// with one convention.
    static func parse(_ bytes: [UInt8], limits: ChannelLimits) -> MIMEPart {
        let normalized = normalizeLineEnds(bytes)
        var budget = limits.mimePartsMax
        return parseEntity(normalized[...], depth: 0, limits: limits, budget: &budget, defaultType: "text/plain")
    }

    static func normalizeLineEnds(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(0x0D) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A {
                i += 1
                continue
            }
            out.append(bytes[i])
            i += 1
        }
        return out
    }

    /// Splits the header block from the body and parses the fields.
    static func splitHeaders(_ bytes: ArraySlice<UInt8>) -> (MIMEHeaders, ArraySlice<UInt8>) {
        var headers = MIMEHeaders()
        var index = bytes.startIndex
        var current: (name: String, value: [UInt8])?
        func finish() {
            if let field = current {
                let text = Charsets.decodeUTF8Leniently(field.value)
                headers.fields.append((field.name, text.trimmingCharacters(in: .whitespaces)))
            }
            current = nil
        }
        while index < bytes.endIndex {
            let lineEnd = bytes[index...].firstIndex(of: 0x0A) ?? bytes.endIndex
            let line = bytes[index..<lineEnd]
            let next = lineEnd < bytes.endIndex ? lineEnd + 1 : lineEnd
            if line.isEmpty || line.allSatisfy({ $0 == 0x0D }) {
                finish()
                return (headers, bytes[next...])
            }
            if line.first == 0x20 || line.first == 0x09 {
                if current != nil {
                    let trimmed = line.drop(while: { $0 == 0x20 || $0 == 0x09 })
                    current!.value.append(0x20)
                    current!.value.append(contentsOf: trimmed)
                }
            } else if let colon = line.firstIndex(of: 0x3A), colon > line.startIndex,
                      !line[line.startIndex..<colon].contains(where: { $0 <= 0x20 || $0 >= 0x7F }) {
                finish()
                let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
                current = (name, Array(line[(colon + 1)...]))
            } else if headers.fields.isEmpty && current == nil {
                // No header block at all: everything is body.
                return (headers, bytes)
            } else {
                // A stray line inside the header block (broken mailer): skip it.
                finish()
            }
            index = next
        }
        finish()
        return (headers, bytes[bytes.endIndex...])
    }

    private static func parseEntity(_ bytes: ArraySlice<UInt8>, depth: Int, limits: ChannelLimits,
                                    budget: inout Int, defaultType: String) -> MIMEPart {
        budget -= 1
        let (headers, body) = splitHeaders(bytes)
        var contentType = HeaderValue.parse(headers.first("content-type"))
        if contentType.value.isEmpty || !contentType.value.contains("/") {
            contentType = HeaderValue(value: defaultType, parameters: contentType.parameters)
        }
        var part = MIMEPart(headers: headers, rawBody: body, contentType: contentType)
        guard part.isMultipart, depth < limits.mimeNestingDepthMax, budget > 0,
              let boundary = contentType.parameters["boundary"], !boundary.isEmpty else { return part }
        let childDefault = part.mediaType == "multipart/digest" ? "message/rfc822" : "text/plain"
        for range in splitMultipart(body, boundary: boundary) {
            guard budget > 0 else { break }
            part.children.append(parseEntity(body[range], depth: depth + 1, limits: limits, budget: &budget, defaultType: childDefault))
        }
        return part
    }

    /// The byte ranges of the parts between `--boundary` delimiter lines (preamble and epilogue
    /// dropped). A missing closing delimiter ends the last part at the end of the body.
    static func splitMultipart(_ body: ArraySlice<UInt8>, boundary: String) -> [Range<Int>] {
        let delimiter = Array(("--" + boundary).utf8)
        var ranges: [Range<Int>] = []
        var partStart: Int?
        var index = body.startIndex
        while index < body.endIndex {
            let lineEnd = body[index...].firstIndex(of: 0x0A) ?? body.endIndex
            let line = body[index..<lineEnd]
            if line.starts(with: delimiter) {
                let rest = line.dropFirst(delimiter.count)
                let isClose = rest.starts(with: [0x2D, 0x2D])
                let tail = isClose ? rest.dropFirst(2) : rest
                if tail.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    if let start = partStart {
                        // The line break before the delimiter belongs to the delimiter.
                        let end = max(start, index - 1)
                        ranges.append(start..<end)
                    }
                    if isClose { return ranges }
                    partStart = lineEnd < body.endIndex ? lineEnd + 1 : lineEnd
                }
            }
            index = lineEnd < body.endIndex ? lineEnd + 1 : lineEnd
        }
        if let start = partStart, start < body.endIndex { ranges.append(start..<body.endIndex) }
        return ranges
    }
}
