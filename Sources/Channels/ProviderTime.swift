import Foundation
import PurserCore

/// The provider time formats that are not ISO-8601: Unix seconds (WhatsApp) and RFC 5322 mail
/// dates. ISO-8601 / RFC 3339 is `Timestamp(iso8601:rules: .dateTime)` from `PurserCore`.
public enum ProviderTime {
    /// Reads provider timestamps given as Unix seconds in a string or number (WhatsApp).
    public static func parseUnixSeconds(_ value: JSONValue?) -> Date? {
        switch value {
        case .string(let text)?:
            guard let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds.isFinite else { return nil }
            return Date(timeIntervalSince1970: seconds)
        case .number(let seconds)?:
            return Date(timeIntervalSince1970: seconds)
        default:
            return nil
        }
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
        guard (1...12).contains(month), day >= 1, Int64(day) <= Timestamp.daysIn(month: Int64(month), year: Int64(year)),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let days = Int(Timestamp.days(fromCivil: Int64(year), Int64(month), Int64(day)))
        let seconds = days * 86400 + hour * 3600 + minute * 60 + min(second, 59) - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

extension Timestamp {
    /// A channel payload's ISO-8601 date-time (`.dateTime` rules) as a `Date`.
    static func channelDate(_ text: String) -> Date? {
        Timestamp(iso8601: text, rules: .dateTime)?.date
    }

    /// A `Date` written as a channel outcome writes it (`Timestamp.iso8601`).
    static func channelText(_ date: Date) -> String {
        Timestamp(date).iso8601
    }
}
