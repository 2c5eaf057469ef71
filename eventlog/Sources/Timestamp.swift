#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Milliseconds since the Unix epoch, UTC, and their ISO-8601 text form
/// (`2026-11-25T10:00:00.123Z`). Hand-written because Foundation's formatters are far too slow
/// for the append path and the text form is fixed-width, so it also sorts as text.
public enum Timestamp {
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Days since 1970-01-01 to (year, month, day); Howard Hinnant's civil_from_days.
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Appends the 24-byte ISO-8601 form of `ms` to `out`.
    public static func appendISO(_ ms: Int64, to out: inout [UInt8]) {
        var days = ms / 86_400_000
        var rem = ms % 86_400_000
        if rem < 0 { rem += 86_400_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        let h = rem / 3_600_000, mi = (rem / 60_000) % 60, s = (rem / 1000) % 60, milli = rem % 1000
        @inline(__always) func digits(_ v: Int64, _ n: Int) {
            var div: Int64 = 1
            for _ in 1..<n { div *= 10 }
            var v = v
            for _ in 0..<n { out.append(UInt8(48 + (v / div) % 10)); v %= div; div /= 10 }
        }
        digits(max(0, min(9999, y)), 4); out.append(45) // -
        digits(m, 2); out.append(45)
        digits(d, 2); out.append(84) // T
        digits(h, 2); out.append(58) // :
        digits(mi, 2); out.append(58)
        digits(s, 2); out.append(46) // .
        digits(milli, 3); out.append(90) // Z
    }

    public static func iso(_ ms: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendISO(ms, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The UTC day (`2026-11-25`) of `ms`.
    public static func day(_ ms: Int64) -> String {
        String(iso(ms).prefix(10))
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff…]]` with `Z` or `±HH:MM` (or no zone = UTC).
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        func num(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = num(4), expect(45), let mo = num(2), expect(45), let d = num(2) else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y) else { return nil }
        var ms = days(fromCivil: y, mo, d) * 86_400_000
        if i == b.count { return ms }
        guard i < b.count, b[i] == 84 || b[i] == 116 || b[i] == 32 else { return nil } // T, t or space
        i += 1
        guard let h = num(2), expect(58), let mi = num(2), h < 24, mi < 60 else { return nil }
        ms += h * 3_600_000 + mi * 60_000
        if expect(58) {
            guard let s = num(2), s < 61 else { return nil }
            ms += s * 1000
            if expect(46) || expect(44) {
                var scale: Int64 = 100
                var digits = 0
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    ms += Int64(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                    digits += 1
                }
                guard digits > 0 else { return nil }
            }
        }
        if i == b.count { return ms }
        if expect(90) || expect(122) { return i == b.count ? ms : nil } // Z
        guard i < b.count, b[i] == 43 || b[i] == 45 else { return nil }
        let sign: Int64 = b[i] == 43 ? 1 : -1
        i += 1
        guard let oh = num(2) else { return nil }
        _ = expect(58)
        guard let om = num(2), i == b.count, oh < 24, om < 60 else { return nil }
        return ms - sign * (oh * 3_600_000 + om * 60_000)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// ULIDs: 48 bits of milliseconds then 80 random bits, in Crockford base32, so ids sort by time.
public enum ULID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func make(ms: Int64 = Timestamp.nowMs()) -> String {
        var rng = SystemRandomNumberGenerator()
        return make(ms: ms, using: &rng)
    }

    public static func make<R: RandomNumberGenerator>(ms: Int64, using rng: inout R) -> String {
        var out = [UInt8](repeating: 0, count: 26)
        var t = UInt64(max(0, ms))
        for i in stride(from: 9, through: 0, by: -1) {
            out[i] = alphabet[Int(t & 31)]
            t >>= 5
        }
        var hi = rng.next() // 80 random bits: 16 from hi, 64 from lo
        let lo = rng.next()
        var r = lo
        for i in stride(from: 25, through: 13, by: -1) { // 13 chars * 5 = 65 bits
            out[i] = alphabet[Int(r & 31)]
            r >>= 5
        }
        // 1 bit left in r; combine with hi's bits for the remaining 3 chars (15 bits).
        hi = (hi << 1) | (r & 1)
        for i in stride(from: 12, through: 10, by: -1) {
            out[i] = alphabet[Int(hi & 31)]
            hi >>= 5
        }
        return String(decoding: out, as: UTF8.self)
    }
}
