import Foundation

/// Turns bytes in a MIME charset into text, using whatever encodings Foundation has on this
/// platform, with hand-made tables for the few single-byte sets it lacks. Mail that declares a
/// charset we cannot decode still yields readable text (UTF-8 if the bytes are valid UTF-8,
/// otherwise Windows-1252) rather than being dropped.
enum Charsets {
    /// Decodes `bytes` declared as `charset` (case-insensitive, may be `nil`).
    static func decode<Bytes: Collection>(_ bytes: Bytes, charset: String?) -> String where Bytes.Element == UInt8 {
        let array = Array(bytes)
        if array.isEmpty { return "" }
        let name = normalize(charset)
        switch name {
        case "utf-8", "utf8", "unicode-1-1-utf-8":
            return decodeUTF8Leniently(array)
        case "us-ascii", "ascii", "ansi_x3.4-1968", "646", "iso646-us", "":
            return isValidUTF8(array) ? String(decoding: array, as: UTF8.self) : windows1252(array)
        case "iso-8859-1", "iso8859-1", "latin1", "l1", "iso_8859-1", "cp819":
            // Mail labelled Latin-1 is often really Windows-1252 (curly quotes in 0x80–0x9F).
            return windows1252(array)
        case "windows-1252", "cp1252", "x-cp1252":
            return windows1252(array)
        case "iso-8859-15", "iso8859-15", "latin9", "latin-9":
            return latin9(array)
        default:
            if let encoding = foundationEncoding(name), let text = String(bytes: array, encoding: encoding) {
                return text
            }
            return isValidUTF8(array) ? String(decoding: array, as: UTF8.self) : windows1252(array)
        }
    }

    /// Whether Foundation (or our own tables) can decode `charset`.
    static func isSupported(_ charset: String) -> Bool {
        let name = normalize(charset)
        if ["utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "windows-1252", "cp1252", "iso-8859-15"].contains(name) {
            return true
        }
        guard let encoding = foundationEncoding(name) else { return false }
        return String(bytes: [0x41], encoding: encoding) != nil
    }

    static func normalize(_ charset: String?) -> String {
        guard var name = charset?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() else { return "" }
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        // RFC 2231 language suffix: `iso-8859-1*de`.
        if let star = name.firstIndex(of: "*") { name = String(name[..<star]) }
        return name
    }

    private static func foundationEncoding(_ name: String) -> String.Encoding? {
        if let builtin = builtinEncodings[name] { return builtin }
        // ISO-8859-N and Windows-125N through CoreFoundation's encoding numbers, which
        // Foundation accepts as raw `String.Encoding` values (0x80000000 | CFStringEncoding).
        for prefix in ["iso-8859-", "iso8859-", "iso_8859-"] where name.hasPrefix(prefix) {
            if let n = Int(name.dropFirst(prefix.count)), let cf = isoLatinCF[n] {
                return String.Encoding(rawValue: 0x8000_0000 | cf)
            }
        }
        for prefix in ["windows-", "cp", "x-cp"] where name.hasPrefix(prefix) {
            if let n = Int(name.dropFirst(prefix.count)), (1250...1258).contains(n) {
                return builtinEncodings["windows-\(n)"]
            }
        }
        return nil
    }

    private static let builtinEncodings: [String: String.Encoding] = [
        "windows-1250": .windowsCP1250, "windows-1251": .windowsCP1251, "windows-1253": .windowsCP1253,
        "windows-1254": .windowsCP1254, "iso-8859-2": .isoLatin2, "latin2": .isoLatin2,
        "utf-16": .utf16, "utf-16le": .utf16LittleEndian, "utf-16be": .utf16BigEndian,
        "utf-32": .utf32, "utf-32le": .utf32LittleEndian, "utf-32be": .utf32BigEndian,
        "macintosh": .macOSRoman, "mac": .macOSRoman, "x-mac-roman": .macOSRoman,
        "shift_jis": .shiftJIS, "shift-jis": .shiftJIS, "sjis": .shiftJIS, "euc-jp": .japaneseEUC,
        "iso-2022-jp": .iso2022JP,
        "koi8-r": String.Encoding(rawValue: 0x8000_0A02), "koi8-u": String.Encoding(rawValue: 0x8000_0A08),
        "windows-1255": String.Encoding(rawValue: 0x8000_0505), "windows-1256": String.Encoding(rawValue: 0x8000_0506),
        "windows-1257": String.Encoding(rawValue: 0x8000_0507), "windows-1258": String.Encoding(rawValue: 0x8000_0508),
    ]

    /// CFStringEncoding numbers of ISO-8859-N.
    private static let isoLatinCF: [Int: UInt] = [
        2: 0x0202, 3: 0x0203, 4: 0x0204, 5: 0x0205, 6: 0x0206, 7: 0x0207, 8: 0x0208, 9: 0x0209,
        10: 0x020A, 11: 0x020B, 13: 0x020D, 14: 0x020E, 15: 0x020F, 16: 0x0210,
    ]

    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    /// UTF-8, with bytes that are not UTF-8 read as Windows-1252 instead of replacement marks:
    /// mislabelled Latin-1 mail is common and stays readable that way.
    static func decodeUTF8Leniently(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return windows1252(bytes)
    }

    static func windows1252<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            if byte >= 0x80 && byte < 0xA0, let mapped = cp1252High[Int(byte - 0x80)] {
                scalars.append(mapped)
            } else {
                scalars.append(Unicode.Scalar(byte))
            }
        }
        return String(scalars)
    }

    static func latin9(_ bytes: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            let value: UInt32
            switch byte {
            case 0xA4: value = 0x20AC
            case 0xA6: value = 0x0160
            case 0xA8: value = 0x0161
            case 0xB4: value = 0x017D
            case 0xB8: value = 0x017E
            case 0xBC: value = 0x0152
            case 0xBD: value = 0x0153
            case 0xBE: value = 0x0178
            default: value = UInt32(byte)
            }
            scalars.append(Unicode.Scalar(value)!)
        }
        return String(scalars)
    }

    /// Windows-1252 0x80–0x9F; the five unassigned positions map to themselves (C1 controls).
    private static let cp1252High: [Unicode.Scalar?] = ([
        0x20AC, nil, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, nil, 0x017D, nil,
        nil, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, nil, 0x017E, 0x0178,
    ] as [UInt32?]).map { $0.flatMap { Unicode.Scalar($0) } }
}
