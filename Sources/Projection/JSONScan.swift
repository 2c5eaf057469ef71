import Foundation
import PurserDomain

/// Byte-level reading of JSON the log already validated (every event's `data` is checked on
/// append): finds members and skips values without building them, so a projector that reads
/// four fields of a 400-byte payload pays for four fields, not for a dictionary of everything.
enum JSONScan {
    /// One member of an object: the key's bytes (without quotes) and the value's bytes.
    struct Member {
        var key: Range<Int>
        var value: Range<Int>
    }

    @inline(__always)
    static func skipWS(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int {
        var i = i
        while i < b.count, b[i] == 32 || b[i] == 10 || b[i] == 13 || b[i] == 9 { i += 1 }
        return i
    }

    /// The index after the string whose opening quote is at `i`, or nil if it does not end.
    @inline(__always)
    static func skipString(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int? {
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
    static func skipValue(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int? {
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
    static func members(_ b: UnsafeRawBufferPointer) -> [Member]? {
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
    @inline(__always)
    static func keyEquals(_ b: UnsafeRawBufferPointer, _ range: Range<Int>, _ key: StaticString) -> Bool {
        guard range.count == key.utf8CodeUnitCount else { return false }
        return memcmp(b.baseAddress! + range.lowerBound, key.utf8Start, range.count) == 0
    }

    /// The string value at `range` (quotes included); nil when it is not a string.
    static func string(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> String? {
        guard range.count >= 2, b[range.lowerBound] == 34 else { return nil }
        let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
        var escaped = false
        for i in inner where b[i] == 92 {
            escaped = true
            break
        }
        if !escaped { return String(decoding: UnsafeRawBufferPointer(rebasing: b[inner]), as: UTF8.self) }
        return (try? JSONValue(parsing: UnsafeRawBufferPointer(rebasing: b[range])))?.stringValue
    }

    /// The number at `range`; nil when it is not one.
    static func number(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> Double? {
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
