import Foundation

/// Timestamp reading and writing without `DateFormatter`: the inputs are few fixed grammars, and
/// plain arithmetic is deterministic, locale-free and safe to share between tasks.
public enum Timestamp {
    /// Parses ISO-8601 / RFC 3339 date-times: `2026-11-25T10:00:00Z`, with optional fractional
    /// seconds and a `Z`, `±HH:MM`, `±HHMM` or `±HH` offset. A date-time without an offset is
    /// refused: its instant would depend on the machine's zone.
    public static func parseISO8601(_ text: String) -> Date? {
        let s = Array(text.utf8)
        var i = 0
        func number(_ digits: Int) -> Int? {
            guard i + digits <= s.count else { return nil }
            var value = 0
            for k in i..<(i + digits) {
                let c = s[k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            i += digits
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < s.count, s[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(0x2D), let month = number(2), expect(0x2D), let day = number(2) else { return nil }
        guard i < s.count, s[i] == 0x54 || s[i] == 0x74 || s[i] == 0x20 else { return nil }
        i += 1
        guard let hour = number(2), expect(0x3A), let minute = number(2), expect(0x3A), let second = number(2) else { return nil }
        var fraction = 0.0
        if i < s.count, s[i] == 0x2E || s[i] == 0x2C {
            i += 1
            var scale = 0.1
            let start = i
            while i < s.count, s[i] >= 0x30 && s[i] <= 0x39 {
                fraction += Double(s[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < s.count else { return nil }
        var offsetSeconds = 0
        switch s[i] {
        case 0x5A, 0x7A:
            i += 1
        case 0x2B, 0x2D:
            let sign = s[i] == 0x2D ? -1 : 1
            i += 1
            guard let oh = number(2) else { return nil }
            var om = 0
            if i < s.count {
                _ = expect(0x3A)
                guard let m = number(2) else { return nil }
                om = m
            }
            guard oh <= 23, om <= 59 else { return nil }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        default:
            return nil
        }
        guard i == s.count else { return nil }
        return makeDate(year: year, month: month, day: day, hour: hour, minute: minute,
                        second: second, fraction: fraction, offsetSeconds: offsetSeconds)
    }

    /// Formats as `2026-11-25T10:00:00Z` in UTC, with milliseconds only when they are not zero.
    public static func formatISO8601(_ date: Date) -> String {
        let total = date.timeIntervalSince1970
        var seconds = Int(total.rounded(.down))
        var millis = Int(((total - Double(seconds)) * 1000).rounded())
        if millis >= 1000 { seconds += 1; millis -= 1000 }
        let days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400)
        let secondOfDay = seconds - days * 86400
        let (y, m, d) = civil(fromDays: days)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        var text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if millis != 0 { text += ".\(pad(millis, 3))" }
        return text + "Z"
    }

    /// Reads provider timestamps given as Unix seconds in a string or number (WhatsApp).
    public static func parseUnixSeconds(_ value: Any?) -> Date? {
        if let text = value as? String, let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds.isFinite {
            return Date(timeIntervalSince1970: seconds)
        }
        if let number = value as? NSNumber, !(value is String) {
            return Date(timeIntervalSince1970: number.doubleValue)
        }
        return nil
    }

    /// Parses an RFC 5322 `Date:` header (`Wed, 17 May 2000 19:13:51 -0400`), including the
    /// obsolete forms mailers still send: two-digit years, named zones, missing seconds, comments.
    public static func parseRFC5322(_ text: String) -> Date? {
        var cleaned = ""
        var depth = 0
        for ch in text {
            if ch == "(" { depth += 1; continue }
            if ch == ")" { depth = max(0, depth - 1); continue }
            if depth == 0 { cleaned.append(ch == "," ? " " : ch) }
        }
        var tokens = cleaned.split(whereSeparator: \.isWhitespace).map(String.init)
        if let first = tokens.first, first.first?.isLetter == true, first.count >= 3,
           monthNumber(first) == nil {
            tokens.removeFirst()
        }
        guard tokens.count >= 4 else { return nil }
        var day: Int?
        var month: Int?
        if let d = Int(tokens[0]), let m = monthNumber(tokens[1]) {
            day = d; month = m
        } else if let m = monthNumber(tokens[0]), let d = Int(tokens[1]) {
            day = d; month = m
        }
        guard let day, let month, var year = Int(tokens[2]) else { return nil }
        if tokens[2].count <= 2 { year += year < 50 ? 2000 : 1900 } else if tokens[2].count == 3 { year += 1900 }
        let clock = tokens[3].split(separator: ":").map { Int($0) }
        guard clock.count >= 2, clock.allSatisfy({ $0 != nil }) else { return nil }
        let hour = clock[0]!, minute = clock[1]!, second = clock.count > 2 ? clock[2]! : 0
        var offset = 0
        if tokens.count > 4 {
            let zone = tokens[4]
            if let first = zone.first, first == "+" || first == "-", zone.count == 5, let value = Int(zone.dropFirst()) {
                let seconds = (value / 100) * 3600 + (value % 100) * 60
                offset = first == "-" ? -seconds : seconds
            } else if let hours = namedZones[zone.uppercased()] {
                offset = hours * 3600
            }
        }
        return makeDate(year: year, month: month, day: day, hour: hour, minute: minute,
                        second: min(second, 59), fraction: 0, offsetSeconds: offset)
    }

    private static let namedZones: [String: Int] = [
        "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
        "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    ]

    private static func monthNumber(_ token: String) -> Int? {
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard token.count >= 3 else { return nil }
        let prefix = token.prefix(3).lowercased()
        return months.firstIndex(of: prefix).map { $0 + 1 }
    }

    static func makeDate(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int,
                         fraction: Double, offsetSeconds: Int) -> Date? {
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let seconds = days * 86400 + hour * 3600 + minute * 60 + min(second, 59) - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    private static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
