import Foundation
import PurserCore
import PurserDomain
@testable import Tools

/// The query semantics in plain Swift over in-memory objects, written from the documentation
/// rather than from the SQL, to check the SQL path against.
struct ReferenceEvaluator {
    var objects: [TestObject]

    /// The documented order of the values a field sorts by: missing, then numbers, then text
    /// bytes, then (custom fields) ISO-8601 strings by instant.
    enum SortValue: Comparable {
        case null
        case number(Double)
        case text([UInt8])
        case instant(Int64)

        static func < (lhs: SortValue, rhs: SortValue) -> Bool {
            switch (lhs, rhs) {
            case (.null, .null): false
            case (.null, _): true
            case (_, .null): false
            case (.number(let x), .number(let y)): x < y
            case (.number, .text): true
            case (.text, .number): false
            case (.text(let x), .text(let y)): x.lexicographicallyPrecedes(y)
            case (.number, .instant), (.text, .instant): true
            case (.instant, .number), (.instant, .text): false
            case (.instant(let x), .instant(let y)): x < y
            }
        }
    }

    func fieldValue(_ object: TestObject, _ field: DataQuery.Field) -> JSONValue? {
        switch field {
        case .id: .string(object.id)
        case .type: .string(object.type)
        case .subtype: object.subtype.map(JSONValue.string)
        case .name: object.name.map(JSONValue.string)
        case .status: object.status.map(JSONValue.string)
        case .createdAt: .string(object.createdAt)
        case .updatedAt: .string(object.updatedAt)
        case .custom(let path): object.customProperties.value(atPath: path)
        }
    }

    static func compare(_ lhs: [UInt8], _ rhs: [UInt8], _ op: DataQuery.Operator) -> Bool {
        switch op {
        case .gt: rhs.lexicographicallyPrecedes(lhs)
        case .gte: !lhs.lexicographicallyPrecedes(rhs)
        case .lt: lhs.lexicographicallyPrecedes(rhs)
        case .lte: !rhs.lexicographicallyPrecedes(lhs)
        default: lhs == rhs
        }
    }

    static func compare<T: Comparable>(_ lhs: T, _ rhs: T, _ op: DataQuery.Operator) -> Bool {
        switch op {
        case .gt: lhs > rhs
        case .gte: lhs >= rhs
        case .lt: lhs < rhs
        case .lte: lhs <= rhs
        default: lhs == rhs
        }
    }

    static func containsBytes(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle {
            return true
        }
        return false
    }

    /// Case and accents folded, as a person typing expects `contains`/`startsWith` to match.
    static func folded(_ text: String) -> [UInt8] { Array(TextMatching.fold(text).utf8) }

    func matches(_ object: TestObject, _ field: DataQuery.Field, _ op: DataQuery.Operator, _ operand: DataQuery.Operand) -> Bool {
        let value = fieldValue(object, field)
        switch (op, operand) {
        case (.contains, .string(let text)):
            switch value {
            case .string(let s)?: return Self.containsBytes(Self.folded(s), Self.folded(text))
            case .array(let elements)? where { if case .custom = field { true } else { false } }():
                return elements.contains { if case .string(let e) = $0 { Self.folded(e) == Self.folded(text) } else { false } }
            default: return false
            }
        case (.startsWith, .string(let text)):
            guard case .string(let s)? = value else { return false }
            return Self.folded(s).starts(with: Self.folded(text))
        case (_, .number(let n)):
            guard case .number(let x)? = value else { return false }
            return Self.compare(x, n, op)
        case (_, .bool(let flag)):
            return value == .bool(flag)
        case (_, .instant(let instant)):
            guard case .string(let s)? = value, let t = Timestamp(iso8601: s) else { return false }
            return Self.compare(t.millisecondsSinceEpoch, instant.millisecondsSinceEpoch, op)
        case (_, .string(let text)):
            guard case .string(let s)? = value else { return false }
            return Self.compare(Array(s.utf8), Array(text.utf8), op)
        }
    }

    func matches(_ object: TestObject, _ filter: DataQuery.Filter) -> Bool {
        switch filter.op {
        case .exists:
            let value = fieldValue(object, filter.field)
            let present = value != nil && value != .null
            return present == filter.exists
        case .in:
            return filter.operands.contains { matches(object, filter.field, .eq, $0) }
        case .nin, .neq:
            return !filter.operands.contains { matches(object, filter.field, .eq, $0) }
        default:
            return filter.operands.contains { matches(object, filter.field, filter.op, $0) }
        }
    }

    func sortValue(_ object: TestObject, _ field: DataQuery.Field) -> SortValue {
        let value = fieldValue(object, field)
        if field.isInstant {
            guard case .string(let s)? = value, let t = Timestamp(iso8601: s) else { return .null }
            return .number(Double(t.millisecondsSinceEpoch))
        }
        switch value {
        case .number(let n)?: return .number(n)
        case .bool(let b)?: return .number(b ? 1 : 0)
        case .string(let s)?:
            if case .custom = field, let t = Timestamp(iso8601: s) { return .instant(t.millisecondsSinceEpoch) }
            return .text(Array(s.utf8))
        case .array?, .object?: return .text(Array(value!.serialized().utf8))
        default: return .null
        }
    }

    func selected(_ query: DataQuery) -> [TestObject] {
        objects.filter { object in
            object.type == query.objectType && !object.deleted && query.filters.allSatisfy { matches(object, $0) }
        }
    }

    func page(_ query: DataQuery) -> (total: Int, ids: [String]) {
        let rows = selected(query)
        let sorted = rows.sorted { a, b in
            for key in query.sort {
                let x = sortValue(a, key.field), y = sortValue(b, key.field)
                if x != y { return key.descending ? y < x : x < y }
            }
            return Array(a.id.utf8).lexicographicallyPrecedes(Array(b.id.utf8))
        }
        return (rows.count, Array(sorted.dropFirst(query.offset).prefix(query.limit)).map(\.id))
    }

    func numeric(_ object: TestObject, _ field: DataQuery.Field) -> Double? {
        if field.isInstant, case .string(let s)? = fieldValue(object, field), let t = Timestamp(iso8601: s) {
            return Double(t.millisecondsSinceEpoch)
        }
        if case .number(let n)? = fieldValue(object, field) { return n }
        return nil
    }

    func aggregate(_ aggregate: DataQuery.Aggregate, over rows: [TestObject]) -> Double? {
        switch aggregate.kind {
        case .count:
            guard let field = aggregate.field else { return Double(rows.count) }
            return Double(rows.filter { let v = fieldValue($0, field); return v != nil && v != .null }.count)
        case .sum:
            return rows.compactMap { numeric($0, aggregate.field!) }.reduce(0, +)
        case .avg:
            let values = rows.compactMap { numeric($0, aggregate.field!) }
            return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        case .min: return rows.compactMap { numeric($0, aggregate.field!) }.min()
        case .max: return rows.compactMap { numeric($0, aggregate.field!) }.max()
        }
    }

    /// Groups as (key, value, count), in the documented order.
    func groups(_ query: DataQuery) -> [(key: JSONValue, value: Double?, count: Int)] {
        guard let groupBy = query.groupBy, let agg = query.aggregate else { return [] }
        var buckets: [String: (key: JSONValue, sort: SortValue, rows: [TestObject])] = [:]
        for object in selected(query) {
            var key = fieldValue(object, groupBy) ?? .null
            if key == .null { key = .null }
            let text = key == .null ? "" : key.serialized()
            buckets[text, default: (key, sortValue(object, groupBy), [])].rows.append(object)
        }
        let ordered = buckets.sorted { a, b in
            if a.value.sort != b.value.sort { return a.value.sort < b.value.sort }
            return Array(a.key.utf8).lexicographicallyPrecedes(Array(b.key.utf8))
        }
        return ordered.prefix(DataQuery.maxGroupCount).map { ($0.value.key, aggregate(agg, over: $0.value.rows), $0.value.rows.count) }
    }
}
