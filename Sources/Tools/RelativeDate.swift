import Foundation
import PurserCore
import PurserDomain

/// Relative dates a model can write instead of computing a calendar date itself:
/// `{"relative": "<anchor><offset>"}`.
///
/// - anchor (optional, default `now`): `now`, `startOfDay`, `startOfWeek` (Monday 00:00),
///   `startOfMonth`, `startOfYear`, all in UTC;
/// - offset (optional): a sign, 1 to 4 digits and a unit — `h` hours, `d` days, `w` weeks,
///   `M` months, `y` years — e.g. `-7d`, `+2w`, `-6M`.
///
/// Examples: `-7d` (a week ago), `startOfWeek`, `startOfMonth-1M` (the start of last month),
/// `startOfDay+1d` (tomorrow 00:00). Months and years are calendar steps, so `-1M` from March 31
/// lands on the last day of February. The clock is the caller's, so tests and audits resolve
/// the same text to the same instant.
public enum RelativeDate {
    static let anchors = ["startOfDay", "startOfWeek", "startOfMonth", "startOfYear", "now"]

    public static func resolve(_ value: JSONValue, now: Timestamp, at location: String) throws(ToolError) -> Timestamp {
        guard case .object(let members) = value, members.count == 1, case .string(let text) = members["relative"] ?? .null else {
            throw ToolError(.invalidRelativeDate, "a relative date is {\"relative\": \"-7d\"}; see the tool description for the grammar", field: location)
        }
        guard let instant = resolve(text, now: now) else {
            throw ToolError(.invalidRelativeDate, "'\(text)' is not a relative date; write e.g. \"-7d\", \"-6M\", \"startOfWeek\", \"startOfMonth-1M\" (units h d w M y)", field: location)
        }
        return instant
    }

    /// Resolves the text form, `nil` when it does not follow the grammar.
    public static func resolve(_ text: String, now: Timestamp) -> Timestamp? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        calendar.firstWeekday = 2
        var rest = Substring(text)
        var date = now.date
        if let anchor = anchors.first(where: { rest.hasPrefix($0) }) {
            rest = rest.dropFirst(anchor.count)
            switch anchor {
            case "startOfDay": date = calendar.startOfDay(for: date)
            case "startOfWeek":
                guard let week = calendar.dateInterval(of: .weekOfYear, for: date) else { return nil }
                date = week.start
            case "startOfMonth":
                date = calendar.date(from: calendar.dateComponents([.year, .month], from: date)) ?? date
            case "startOfYear":
                date = calendar.date(from: calendar.dateComponents([.year], from: date)) ?? date
            default: break
            }
        } else if rest.isEmpty {
            return nil
        }
        if !rest.isEmpty {
            guard let sign = rest.first, sign == "+" || sign == "-", let unit = rest.last else { return nil }
            let digits = rest.dropFirst().dropLast()
            guard (1...4).contains(digits.count), digits.allSatisfy(\.isASCII), let magnitude = Int(digits) else { return nil }
            let amount = sign == "-" ? -magnitude : magnitude
            let component: Calendar.Component
            switch unit {
            case "h": component = .hour
            case "d": component = .day
            case "w": component = .weekOfYear
            case "M": component = .month
            case "y": component = .year
            default: return nil
            }
            guard let moved = calendar.date(byAdding: component, value: amount, to: date) else { return nil }
            date = moved
        }
        return Timestamp(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }
}
