import Foundation

/// Content-Transfer-Encoding decoders. Both are lenient: real mail has stray characters, missing
/// padding and broken escapes, and a readable body beats a rejected one.
enum TransferEncoding {
    /// Decodes `bytes` for the given `Content-Transfer-Encoding` (7bit, 8bit and binary pass).
    static func decode(_ bytes: ArraySlice<UInt8>, encoding: String?) -> [UInt8] {
        switch encoding?.trimmingCharacters(in: .whitespaces).lowercased() {
        case "quoted-printable": return quotedPrintable(bytes)
        case "base64": return base64(bytes)
        default: return Array(bytes)
        }
    }

    /// RFC 2045 §6.7: `=XX` escapes and `=` soft line breaks (trailing blanks before the break
    /// are tolerated); an `=` that starts no valid escape is kept as it is.
    static func quotedPrintable<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8, Bytes.Index == Int {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let c = bytes[i]
            guard c == 0x3D else {
                out.append(c)
                i += 1
                continue
            }
            var j = i + 1
            while j < end, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
            if j == end { break }
            if bytes[j] == 0x0A { i = j + 1; continue }
            if bytes[j] == 0x0D, j + 1 < end, bytes[j + 1] == 0x0A { i = j + 2; continue }
            if i + 2 < end, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
                continue
            }
            out.append(c)
            i += 1
        }
        return out
    }

    /// RFC 4648 base64 (and its URL-safe alphabet), skipping line breaks and anything outside the
    /// alphabet; `=` padding ends a group, so concatenated encodings still decode.
    static func base64<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for c in bytes {
            let value: UInt32
            switch c {
            case 0x41...0x5A: value = UInt32(c - 0x41)
            case 0x61...0x7A: value = UInt32(c - 0x61 + 26)
            case 0x30...0x39: value = UInt32(c - 0x30 + 52)
            case 0x2B, 0x2D: value = 62
            case 0x2F, 0x5F: value = 63
            case 0x3D:
                bits = 0
                accumulator = 0
                continue
            default:
                continue
            }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((accumulator >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
