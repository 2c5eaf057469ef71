import Foundation

/// An instant with millisecond precision, and its ISO-8601 text forms: the one timestamp type of
/// every module.
///
/// Hand-written, without `DateFormatter` (slow, locale-dependent, not safe to share between
/// threads): parsing reads the UTF-8 bytes in place and formatting appends fixed-width digits, so
/// neither allocates on the event log's append path. Times compare exactly (integer milliseconds).
///
/// ## The grammar (one parser, three rule sets)
///
/// ```
/// timestamp = date [ sep time [ zone ] ]
/// date      = YYYY "-" MM "-" DD                    a valid proleptic Gregorian day
/// sep       = "T" | "t" | " "
/// time      = HH ":" MM [ ":" SS [ ("." | ",") 1*DIGIT ] ]     HH < 24, MM < 60, SS ≤ 60
/// zone      = "Z" | "z" | ("+" | "-") HH [ [":"] MM ]
/// ```
///
/// Fractions finer than a millisecond are truncated; a leap second `60` reads as `59`. A date
/// alone is midnight UTC. What the caller's `Rules` decide:
/// - `.instant` (ontology objects, configurations, event payloads, CLI options): a date alone is
///   accepted; a time without a zone is refused (guessing the zone would shift bookings by hours);
/// - `.envelope` (the event log's `ts` field): like `.instant`, but a time without a zone is UTC;
/// - `.dateTime` (channel payloads' `receivedAt`): a full date-time with seconds and a zone.
///
/// Written forms: `iso8601` (`2026-11-25T10:00:00Z`, the fraction only when not zero) for
/// payloads and people, and `appendISO` (always `2026-11-25T10:00:00.123Z`, 24 bytes, so it
/// sorts as text) for the event log's envelope.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// The nearest millisecond of `date`.
    public init(_ date: Date) {
        self.millisecondsSinceEpoch = Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// The current time.
    public static func now() -> Timestamp { Timestamp(millisecondsSinceEpoch: nowMs()) }

    /// The current time in milliseconds since the epoch, from `clock_gettime` (no allocation).
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public var date: Date { Date(timeIntervalSince1970: Double(millisecondsSinceEpoch) / 1000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + milliseconds)
    }

    public func adding(seconds: Double) -> Timestamp {
        adding(milliseconds: Int64((seconds * 1000).rounded()))
    }

    // MARK: Parsing

    /// Which optional parts of the grammar a caller accepts (see the type's documentation).
    public struct Rules: Sendable, Hashable {
        /// A date alone (`2026-11-25`) is midnight UTC.
        public var dateOnly: Bool
        /// A time without a zone is UTC; otherwise it is refused.
        public var zonelessIsUTC: Bool
        /// The seconds must be written.
        public var secondsRequired: Bool

        public init(dateOnly: Bool, zonelessIsUTC: Bool, secondsRequired: Bool) {
            self.dateOnly = dateOnly
            self.zonelessIsUTC = zonelessIsUTC
            self.secondsRequired = secondsRequired
        }

        /// Objects, configurations, payloads, options: a date alone, or a date-time with a zone.
        public static let instant = Rules(dateOnly: true, zonelessIsUTC: false, secondsRequired: false)
        /// The event log's `ts`: as `.instant`, and a time without a zone is UTC.
        public static let envelope = Rules(dateOnly: true, zonelessIsUTC: true, secondsRequired: false)
        /// Channel payloads: a full date-time with seconds and a zone (RFC 3339).
        public static let dateTime = Rules(dateOnly: false, zonelessIsUTC: false, secondsRequired: true)
    }

    /// Parses `text` under `.instant` rules.
    public init?(iso8601 text: String) {
        self.init(iso8601: text, rules: .instant)
    }

    public init?(iso8601 text: String, rules: Rules) {
        guard let ms = Self.parseMilliseconds(text, rules: rules) else { return nil }
        self.millisecondsSinceEpoch = ms
    }

    /// Milliseconds since the epoch of `text`, or nil when it breaks the grammar or `rules`.
    public static func parseMilliseconds(_ text: String, rules: Rules = .envelope) -> Int64? {
        var text = text
        return text.withUTF8 { parseMilliseconds(bytes: $0, rules: rules) }
    }

    /// The parser itself, over UTF-8 bytes in place.
    public static func parseMilliseconds(bytes b: UnsafeBufferPointer<UInt8>, rules: Rules) -> Int64? {
        var i = 0
        func number(_ n: Int) -> Int64? {
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
        guard let y = number(4), expect(45), let mo = number(2), expect(45), let d = number(2) else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y) else { return nil }
        var ms = days(fromCivil: y, mo, d) * 86_400_000
        if i == b.count { return rules.dateOnly ? ms : nil }
        guard b[i] == 84 || b[i] == 116 || b[i] == 32 else { return nil } // T, t or space
        i += 1
        guard let h = number(2), expect(58), let mi = number(2), h < 24, mi < 60 else { return nil }
        ms += h * 3_600_000 + mi * 60_000
        if expect(58) {
            guard let s = number(2), s <= 60 else { return nil }
            ms += min(s, 59) * 1000
            if expect(46) || expect(44) { // . or ,
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
        } else if rules.secondsRequired {
            return nil
        }
        if i == b.count { return rules.zonelessIsUTC ? ms : nil }
        if expect(90) || expect(122) { return i == b.count ? ms : nil } // Z or z
        guard b[i] == 43 || b[i] == 45 else { return nil } // + or -
        let sign: Int64 = b[i] == 43 ? 1 : -1
        i += 1
        guard let oh = number(2), oh < 24 else { return nil }
        var om: Int64 = 0
        if i < b.count {
            _ = expect(58)
            guard let m = number(2), m < 60 else { return nil }
            om = m
        }
        guard i == b.count else { return nil }
        return ms - sign * (oh * 3_600_000 + om * 60_000)
    }

    // MARK: Formatting

    /// Appends the 24-byte fixed-width form of `ms` (`2026-11-25T10:00:00.123Z`) to `out`.
    public static func appendISO(_ ms: Int64, to out: inout [UInt8]) {
        let (days, rem) = ms.floorDivided(by: 86_400_000)
        let (y, m, d) = civil(fromDays: days)
        let h = rem / 3_600_000, mi = (rem / 60_000) % 60, s = (rem / 1000) % 60, milli = rem % 1000
        appendDigits(max(0, min(9999, y)), 4, to: &out); out.append(45) // -
        appendDigits(m, 2, to: &out); out.append(45)
        appendDigits(d, 2, to: &out); out.append(84) // T
        appendDigits(h, 2, to: &out); out.append(58) // :
        appendDigits(mi, 2, to: &out); out.append(58)
        appendDigits(s, 2, to: &out); out.append(46) // .
        appendDigits(milli, 3, to: &out); out.append(90) // Z
    }

    /// The fixed-width form of `ms` as a string.
    public static func iso(_ ms: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendISO(ms, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The UTC day (`2026-11-25`) of `ms`.
    public static func day(_ ms: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(10)
        let (days, _) = ms.floorDivided(by: 86_400_000)
        let (y, m, d) = civil(fromDays: days)
        appendDigits(max(0, min(9999, y)), 4, to: &out); out.append(45)
        appendDigits(m, 2, to: &out); out.append(45)
        appendDigits(d, 2, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// ISO-8601 in UTC; the fraction is written only when it is not zero.
    public var iso8601: String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        Self.appendISO(millisecondsSinceEpoch, to: &out)
        if out[20] == 48 && out[21] == 48 && out[22] == 48 { out.removeSubrange(19..<23) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The UTC calendar day, `YYYY-MM-DD`: the unit of the daily caps and of the spend model.
    public var utcDay: String { Self.day(millisecondsSinceEpoch) }

    public var description: String { iso8601 }

    // MARK: Codable

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not an ISO-8601 timestamp")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }

    // MARK: Calendar arithmetic (proleptic Gregorian, after Howard Hinnant's algorithms)

    /// Days since 1970-01-01 to (year, month, day).
    public static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
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

    /// (year, month, day) to days since 1970-01-01.
    public static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    @inline(__always)
    private static func appendDigits(_ value: Int64, _ count: Int, to out: inout [UInt8]) {
        var div: Int64 = 1
        for _ in 1..<count { div *= 10 }
        var v = value
        for _ in 0..<count { out.append(UInt8(48 + (v / div) % 10)); v %= div; div /= 10 }
    }
}

private extension Int64 {
    /// Division rounding toward negative infinity, so instants before 1970 format correctly.
    func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var q = self / divisor
        var r = self % divisor
        if r < 0 { q -= 1; r += divisor }
        return (q, r)
    }
}
