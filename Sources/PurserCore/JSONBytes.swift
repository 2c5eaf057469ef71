import Foundation

/// The one JSON byte scanner: just enough JSON for the hot paths, without building a tree.
/// Escaping strings when encoding an envelope, validating a payload, and finding the top-level
/// members of an object as byte ranges (validating, for input; or `Scan`, skipping only, for
/// bytes the log already validated, which is what projections read). Full decoding into values
/// belongs to the consumers that need it.
public enum JSONBytes {
    /// Appends `s` as a JSON string literal (with quotes).
    @inlinable @inline(__always)
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(34)
        var s = s
        s.withUTF8 { u in
            var start = 0
            for i in 0..<u.count {
                let c = u[i]
                if c >= 0x20 && c != 34 && c != 92 { continue }
                if i > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i])) }
                start = i + 1
                switch c {
                case 34: out.append(92); out.append(34)
                case 92: out.append(92); out.append(92)
                case 10: out.append(92); out.append(110)
                case 13: out.append(92); out.append(114)
                case 9: out.append(92); out.append(116)
                case 8: out.append(92); out.append(98)
                case 12: out.append(92); out.append(102)
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [92, 117, 48, 48, hex[Int(c >> 4)], hex[Int(c & 15)]])
                }
            }
            if start < u.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<u.count])) }
        }
        out.append(34)
    }

    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public var offset: Int
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Checks that `bytes` is one JSON value (RFC 8259, UTF-8) with nothing but whitespace around it.
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws {
        var p = Parser(bytes)
        p.skipWS()
        try p.value(depth: 0)
        p.skipWS()
        if p.i != bytes.count { throw SyntaxError(offset: p.i, reason: "unexpected bytes after the value") }
    }

    /// `validate`, and the value must be an object.
    public static func validateObject(_ bytes: UnsafeRawBufferPointer) throws {
        var p = Parser(bytes)
        p.skipWS()
        guard p.peek() == 123 else { throw SyntaxError(offset: p.i, reason: "data must be a JSON object") }
        try validate(bytes)
    }

    public static func validate(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try validate($0) }
    }

    /// A top-level member of an object: its decoded key and the byte range of its raw value.
    public struct Member: Sendable {
        public var key: String
        public var value: Range<Int>
    }

    /// Validates an object and returns its top-level members in order.
    public static func members(of bytes: UnsafeRawBufferPointer) throws -> [Member] {
        var p = Parser(bytes)
        p.skipWS()
        guard p.peek() == 123 else { throw SyntaxError(offset: p.i, reason: "expected an object ({)") }
        p.i += 1
        var out: [Member] = []
        p.skipWS()
        if p.peek() == 125 {
            p.i += 1
        } else {
            while true {
                p.skipWS()
                guard p.peek() == 34 else { throw SyntaxError(offset: p.i, reason: "expected a member name in quotes") }
                let ks = p.i
                try p.string()
                let key = decodeString(bytes, ks..<p.i) ?? ""
                p.skipWS()
                guard p.peek() == 58 else { throw SyntaxError(offset: p.i, reason: "expected ':' after a member name") }
                p.i += 1
                p.skipWS()
                let vs = p.i
                try p.value(depth: 1)
                out.append(Member(key: key, value: vs..<p.i))
                p.skipWS()
                if p.peek() == 44 { p.i += 1; continue }
                if p.peek() == 125 { p.i += 1; break }
                throw SyntaxError(offset: p.i, reason: "expected ',' or '}' in an object")
            }
        }
        p.skipWS()
        if p.i != bytes.count { throw SyntaxError(offset: p.i, reason: "unexpected bytes after the object") }
        return out
    }

    /// Decodes the JSON string literal at `range` (quotes included); nil if it is not one.
    public static func decodeString(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String? {
        guard range.count >= 2, bytes[range.lowerBound] == 34, bytes[range.upperBound - 1] == 34 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound + 1
        let end = range.upperBound - 1
        while i < end {
            let c = bytes[i]
            if c != 92 { out.append(c); i += 1; continue }
            i += 1
            guard i < end else { return nil }
            switch bytes[i] {
            case 34: out.append(34)
            case 92: out.append(92)
            case 47: out.append(47)
            case 98: out.append(8)
            case 102: out.append(12)
            case 110: out.append(10)
            case 114: out.append(13)
            case 116: out.append(9)
            case 117:
                guard let u = hex4(bytes, i + 1, end) else { return nil }
                i += 4
                var scalar = u
                if (0xD800..<0xDC00).contains(u), i + 6 < end + 1, bytes[i + 1] == 92, bytes[i + 2] == 117,
                   let lo = hex4(bytes, i + 3, end), (0xDC00..<0xE000).contains(lo) {
                    scalar = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                }
                let us = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(us)).utf8))
            default: return nil
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex4(_ b: UnsafeRawBufferPointer, _ at: Int, _ end: Int) -> UInt32? {
        guard at + 4 <= end else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = b[at + k]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    /// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
    public static let nestingDepthMax = 128

    struct Parser {
        let b: UnsafeRawBufferPointer
        var i = 0
        init(_ b: UnsafeRawBufferPointer) { self.b = b }

        @inline(__always) func peek() -> UInt8 { i < b.count ? b[i] : 0 }

        @inline(__always) mutating func skipWS() {
            while i < b.count {
                let c = b[i]
                if c == 32 || c == 10 || c == 13 || c == 9 { i += 1 } else { break }
            }
        }

        mutating func value(depth: Int) throws {
            guard depth < JSONBytes.nestingDepthMax else { throw SyntaxError(offset: i, reason: "nested too deeply") }
            switch peek() {
            case 123:
                i += 1
                skipWS()
                if peek() == 125 { i += 1; return }
                while true {
                    skipWS()
                    guard peek() == 34 else { throw SyntaxError(offset: i, reason: "expected a member name in quotes") }
                    try string()
                    skipWS()
                    guard peek() == 58 else { throw SyntaxError(offset: i, reason: "expected ':' after a member name") }
                    i += 1
                    skipWS()
                    try value(depth: depth + 1)
                    skipWS()
                    if peek() == 44 { i += 1; continue }
                    if peek() == 125 { i += 1; return }
                    throw SyntaxError(offset: i, reason: "expected ',' or '}' in an object")
                }
            case 91:
                i += 1
                skipWS()
                if peek() == 93 { i += 1; return }
                while true {
                    skipWS()
                    try value(depth: depth + 1)
                    skipWS()
                    if peek() == 44 { i += 1; continue }
                    if peek() == 93 { i += 1; return }
                    throw SyntaxError(offset: i, reason: "expected ',' or ']' in an array")
                }
            case 34: try string()
            case 116: try literal([116, 114, 117, 101])
            case 102: try literal([102, 97, 108, 115, 101])
            case 110: try literal([110, 117, 108, 108])
            case 45, 48...57: try number()
            default:
                throw SyntaxError(offset: i, reason: i < b.count ? "unexpected character" : "unexpected end of input")
            }
        }

        mutating func literal(_ word: [UInt8]) throws {
            guard i + word.count <= b.count else { throw SyntaxError(offset: i, reason: "unexpected end of input") }
            for k in 0..<word.count where b[i + k] != word[k] {
                throw SyntaxError(offset: i, reason: "unknown literal")
            }
            i += word.count
        }

        mutating func number() throws {
            let start = i
            if peek() == 45 { i += 1 }
            guard i < b.count, b[i] >= 48, b[i] <= 57 else { throw SyntaxError(offset: start, reason: "bad number") }
            if b[i] == 48 { i += 1 } else { while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 } }
            if peek() == 46 {
                i += 1
                guard i < b.count, b[i] >= 48, b[i] <= 57 else { throw SyntaxError(offset: start, reason: "bad number") }
                while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            }
            if peek() == 101 || peek() == 69 {
                i += 1
                if peek() == 43 || peek() == 45 { i += 1 }
                guard i < b.count, b[i] >= 48, b[i] <= 57 else { throw SyntaxError(offset: start, reason: "bad number") }
                while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            }
        }

        mutating func string() throws {
            let start = i
            i += 1
            while i < b.count {
                let c = b[i]
                if c == 34 { i += 1; return }
                if c == 92 {
                    i += 1
                    guard i < b.count else { break }
                    switch b[i] {
                    case 34, 92, 47, 98, 102, 110, 114, 116: i += 1
                    case 117:
                        guard i + 4 < b.count else { throw SyntaxError(offset: i, reason: "bad \\u escape") }
                        for k in 1...4 {
                            let h = b[i + k]
                            guard (48...57).contains(h) || (65...70).contains(h) || (97...102).contains(h) else {
                                throw SyntaxError(offset: i, reason: "bad \\u escape")
                            }
                        }
                        i += 5
                    default: throw SyntaxError(offset: i, reason: "bad escape in a string")
                    }
                    continue
                }
                if c < 0x20 { throw SyntaxError(offset: i, reason: "control character in a string (escape it)") }
                if c < 0x80 { i += 1; continue }
                // UTF-8 multi-byte sequence.
                let n: Int
                if c & 0xE0 == 0xC0, c >= 0xC2 { n = 1 } else if c & 0xF0 == 0xE0 { n = 2 } else if c & 0xF8 == 0xF0, c <= 0xF4 { n = 3 } else {
                    throw SyntaxError(offset: i, reason: "invalid UTF-8")
                }
                guard i + n < b.count else { throw SyntaxError(offset: i, reason: "invalid UTF-8") }
                for k in 1...n where b[i + k] & 0xC0 != 0x80 { throw SyntaxError(offset: i, reason: "invalid UTF-8") }
                if n == 2 {
                    let cp = (UInt32(c & 0x0F) << 12) | (UInt32(b[i + 1] & 0x3F) << 6)
                    if cp < 0x800 || (cp >= 0xD800 && cp < 0xE000) { throw SyntaxError(offset: i, reason: "invalid UTF-8") }
                } else if n == 3 {
                    let cp = (UInt32(c & 0x07) << 18) | (UInt32(b[i + 1] & 0x3F) << 12)
                    if cp < 0x10000 || cp > 0x10FFFF { throw SyntaxError(offset: i, reason: "invalid UTF-8") }
                }
                i += n + 1
            }
            throw SyntaxError(offset: start, reason: "unterminated string")
        }
    }
}

extension JSONBytes {
    /// Reading of JSON the log already validated (every event's `data` is checked on append): finds
    /// members and skips values without building them, so a projector that reads four fields of a
    /// 400-byte payload pays for four fields, not for a dictionary of everything. Inlinable: it runs
    /// once per event on the projections' hot path, in another module.
    public enum Scan {
        /// One member of an object: the key's bytes (without quotes) and the value's bytes.
        public struct Member: Sendable {
            public var key: Range<Int>
            public var value: Range<Int>

            @inlinable
            public init(key: Range<Int>, value: Range<Int>) {
                self.key = key
                self.value = value
            }
        }

        @inlinable @inline(__always)
        public static func skipWS(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int {
            var i = i
            while i < b.count, b[i] == 32 || b[i] == 10 || b[i] == 13 || b[i] == 9 { i += 1 }
            return i
        }

        /// The index after the string whose opening quote is at `i`, or nil if it does not end.
        @inlinable @inline(__always)
        public static func skipString(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int? {
            var i = i + 1
            while i < b.count {
                let c = b[i]
                if c == 34 { return i + 1 }
                if c == 92 { i += 2 } else { i += 1 }
            }
            return nil
        }

        /// The index after the value starting at `i` (no leading whitespace), or nil for bytes that
        /// are not a value.
        @inlinable
        public static func skipValue(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int? {
            guard i < b.count else { return nil }
            switch b[i] {
            case 34:
                return skipString(b, i)
            case 123, 91:
                var depth = 0
                var j = i
                while j < b.count {
                    let c = b[j]
                    if c == 34 {
                        guard let end = skipString(b, j) else { return nil }
                        j = end
                        continue
                    }
                    if c == 123 || c == 91 { depth += 1 } else if c == 125 || c == 93 {
                        depth -= 1
                        if depth == 0 { return j + 1 }
                    }
                    j += 1
                }
                return nil
            default:
                var j = i
                while j < b.count {
                    let c = b[j]
                    if c == 44 || c == 125 || c == 93 || c == 32 || c == 10 || c == 13 || c == 9 { break }
                    j += 1
                }
                return j > i ? j : nil
            }
        }

        /// The members of the object in `b` (top level only); nil when `b` is not an object.
        @inlinable
        public static func members(_ b: UnsafeRawBufferPointer) -> [Member]? {
            var out: [Member] = []
            out.reserveCapacity(16)
            var i = skipWS(b, 0)
            guard i < b.count, b[i] == 123 else { return nil }
            i = skipWS(b, i + 1)
            if i < b.count, b[i] == 125 { return out }
            while i < b.count {
                guard b[i] == 34, let keyEnd = skipString(b, i) else { return nil }
                let key = (i + 1)..<(keyEnd - 1)
                i = skipWS(b, keyEnd)
                guard i < b.count, b[i] == 58 else { return nil }
                i = skipWS(b, i + 1)
                guard let valueEnd = skipValue(b, i) else { return nil }
                out.append(Member(key: key, value: i..<valueEnd))
                i = skipWS(b, valueEnd)
                guard i < b.count else { return nil }
                if b[i] == 44 {
                    i = skipWS(b, i + 1)
                    continue
                }
                return b[i] == 125 ? out : nil
            }
            return nil
        }

        /// Whether the key bytes at `range` spell `key` (keys Purser reads have no escapes).
        @inlinable @inline(__always)
        public static func keyEquals(_ b: UnsafeRawBufferPointer, _ range: Range<Int>, _ key: StaticString) -> Bool {
            guard range.count == key.utf8CodeUnitCount else { return false }
            return memcmp(b.baseAddress! + range.lowerBound, key.utf8Start, range.count) == 0
        }

        /// The string value at `range` (quotes included); nil when it is not a string.
        public static func string(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> String? {
            guard range.count >= 2, b[range.lowerBound] == 34 else { return nil }
            let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
            var escaped = false
            for i in inner where b[i] == 92 {
                escaped = true
                break
            }
            if !escaped { return String(decoding: UnsafeRawBufferPointer(rebasing: b[inner]), as: UTF8.self) }
            return JSONBytes.decodeString(b, range)
        }

        /// The number at `range`; nil when it is not one.
        @inlinable
        public static func number(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> Double? {
            guard !range.isEmpty else { return nil }
            let c = b[range.lowerBound]
            guard c == 45 || (c >= 48 && c <= 57) else { return nil }
            // Integers, by far the common case, without going through text.
            var value: Int64 = 0
            var negative = false
            var i = range.lowerBound
            if c == 45 { negative = true; i += 1 }
            var plain = i < range.upperBound && range.count - (negative ? 1 : 0) <= 15
            while plain, i < range.upperBound {
                let d = b[i]
                if d < 48 || d > 57 { plain = false; break }
                value = value * 10 + Int64(d - 48)
                i += 1
            }
            if plain { return Double(negative ? -value : value) }
            return Double(String(decoding: UnsafeRawBufferPointer(rebasing: b[range]), as: UTF8.self))
        }
    }
}
