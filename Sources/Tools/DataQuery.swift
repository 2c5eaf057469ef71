import Foundation
import PurserCore
import PurserDomain

/// A parsed and validated `data_query_tool` call (docs/QUERY-LANGUAGE.md).
///
/// Only `DataQuery.parse` builds one, so every field path, operator, value and limit in it has
/// been checked: the SQL compiler never sees text a model wrote except as bound parameters.
///
/// Semantics, shared by the SQL path and the tests' reference evaluator:
/// - The value's JSON type picks the comparison: numbers match JSON numbers, booleans match
///   booleans (`eq`/`neq`/`in`/`nin` only), ISO-8601 strings and relative dates match values
///   that parse as ISO-8601 and compare as instants (so `2026-11-20T10:00:00+01:00` equals
///   `2026-11-20T09:00:00Z`), other strings match strings by UTF-8 bytes (case-sensitive for
///   `eq`, `in` and the orderings). A value of another type never matches: `"12"` is not `12`.
/// - `id`, `type`, `subtype`, `name`, `status` compare as strings; `createdAt`, `updatedAt` as
///   instants, whatever the value looks like.
/// - `neq` and `nin` are the negation of `eq` and `in`: they also match objects without the
///   field, which is what "customers whose status is not cancelled" means to a person.
/// - `contains` is a substring test on strings and an element test on arrays of strings;
///   `startsWith` a prefix test on strings. Both match as people type: case and accents are
///   folded on both sides (`TextMatching.fold`: Unicode case folding, diacritics removed, `ß` as
///   `ss`), so "berlin" finds "Berlin", "gdansk" finds "Gdańsk" and "MÜNCHEN" finds "münchen";
///   `eq` stays exact. `exists` (default `true`) tests presence and not-null.
/// - Sorting follows SQLite's order (missing, numbers, strings) with timestamps by instant:
///   `createdAt`/`updatedAt` always, and in a custom field every string that parses as ISO-8601,
///   which sorts after the other strings. Ties are broken by `id`. Groups come in the same order,
///   at most `maxGroupCount`.
/// - `sum`/`avg`/`min`/`max` consider numeric values only (`min`/`max` also take `createdAt` and
///   `updatedAt`); `count` with a field counts objects having it. `groupBy` alone means `count`.
public struct DataQuery: Sendable, Hashable {
    /// The largest page a query may ask for, in objects: keeps a result within a model's context.
    public static let maxLimitObjects = 200
    /// The page size when the query gives none and asks for no aggregate.
    public static let defaultLimitObjects = 50
    /// The deepest offset, in objects; deeper paging means the query should filter instead.
    public static let maxOffsetObjects = 10_000
    public static let maxFilterCount = 20
    public static let maxInListCount = 100
    public static let maxSortKeyCount = 3
    public static let maxIncludeRelatedCount = 5
    /// Related objects returned per item and link type.
    public static let maxRelatedPerItemObjects = 20
    /// Groups returned for a grouped aggregate; `groupsTruncated` says when more exist.
    public static let maxGroupCount = 200
    /// Longest string kept whole in a result, in characters; longer ones are cut and marked.
    public static let maxStringLengthCharacters = 500
    public static let maxObjectTypeLengthCharacters = 64
    public static let maxFieldPathLengthCharacters = 200

    public var objectType: String
    public var filters: [Filter]
    public var includeRelated: [String]
    public var aggregate: Aggregate?
    public var groupBy: Field?
    public var sort: [SortKey]
    public var limit: Int
    public var offset: Int

    /// A field of an ontology object a query can name.
    public enum Field: Sendable, Hashable, CustomStringConvertible {
        case id, type, subtype, name, status, createdAt, updatedAt
        /// A member of `customProperties`, as validated path segments.
        case custom([String])

        /// The top-level fields, by their query names.
        public static let columns: [String: Field] = [
            "id": .id, "type": .type, "subtype": .subtype, "name": .name, "status": .status,
            "createdAt": .createdAt, "updatedAt": .updatedAt,
        ]

        public var description: String {
            switch self {
            case .id: "id"
            case .type: "type"
            case .subtype: "subtype"
            case .name: "name"
            case .status: "status"
            case .createdAt: "createdAt"
            case .updatedAt: "updatedAt"
            case .custom(let path): "customProperties." + path.joined(separator: ".")
            }
        }

        /// Whether the field holds instants (and so compares and sorts by time).
        public var isInstant: Bool { self == .createdAt || self == .updatedAt }

        /// Parses a query field name. A custom path is segments of
        /// `[A-Za-z_][A-Za-z0-9_]*` joined by dots: the grammar keeps a path a plain JSON path
        /// for SQLite and rules out quotes, brackets, wildcards and anything else SQL or JSON-path
        /// syntax could read as more than a member name.
        public static func parse(_ text: String, at location: String) throws(ToolError) -> Field {
            if let column = columns[text] { return column }
            let prefix = "customProperties."
            guard text.hasPrefix(prefix) else {
                throw ToolError(.unknownField, "unknown field '\(text)'; use one of id, type, subtype, name, status, createdAt, updatedAt or customProperties.<path>", field: location)
            }
            guard text.count <= DataQuery.maxFieldPathLengthCharacters else {
                throw ToolError(.invalidFieldPath, "field path longer than \(DataQuery.maxFieldPathLengthCharacters) characters", field: location)
            }
            let segments = text.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            for segment in segments where !isIdentifier(segment) {
                throw ToolError(.invalidFieldPath, "'\(text)' is not a valid path: each part after customProperties. must be letters, digits or _ and not start with a digit, parts joined by dots (e.g. customProperties.address.city)", field: location)
            }
            return .custom(segments)
        }

        static func isIdentifier(_ text: String) -> Bool {
            guard let first = text.utf8.first else { return false }
            func letter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
            guard letter(first) else { return false }
            return text.utf8.allSatisfy { letter($0) || ($0 >= 48 && $0 <= 57) }
        }
    }

    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case eq, neq, gt, gte, lt, lte, `in`, nin, contains, startsWith, exists
    }

    /// A value a filter compares with, already typed: the type decides how values compare.
    public enum Operand: Sendable, Hashable {
        /// Compared with JSON numbers only.
        case number(Double)
        /// Compared with JSON booleans only.
        case bool(Bool)
        /// An ISO-8601 date or timestamp (or a resolved relative date): compared as an instant
        /// with values that parse as ISO-8601.
        case instant(Timestamp)
        /// Compared with JSON strings only, by their UTF-8 bytes (after folding both sides for
        /// `contains` and `startsWith`).
        case string(String)
    }

    public struct Filter: Sendable, Hashable {
        public var field: Field
        public var op: Operator
        /// One operand for most operators, several for `in`/`nin`, none for `exists`.
        public var operands: [Operand]
        /// For `exists`: whether the field must be present (`true`) or absent.
        public var exists: Bool
    }

    public enum AggregateKind: String, Sendable, Hashable, CaseIterable {
        case count, sum, avg, min, max
    }

    public struct Aggregate: Sendable, Hashable {
        public var kind: AggregateKind
        /// Required except for `count`, where it counts objects that have the field.
        public var field: Field?
    }

    public struct SortKey: Sendable, Hashable {
        public var field: Field
        public var descending: Bool
    }

    static let allowedKeys: Set<String> = ["objectType", "filters", "includeRelated", "aggregate", "groupBy", "sort", "limit", "offset"]

    /// Parses and validates a query; `now` resolves relative dates.
    ///
    /// Stops at the first problem: the model fixes one thing at a time and the message names it.
    public static func parse(_ json: JSONValue, now: Timestamp) throws(ToolError) -> DataQuery {
        guard case .object(let members) = json else {
            throw ToolError(.badValueType, "the query must be a JSON object such as {\"objectType\": \"crm_contact\"}")
        }
        for key in members.keys.sorted() where !allowedKeys.contains(key) {
            throw ToolError(.unknownKey, "unknown key '\(key)'; allowed keys are \(allowedKeys.sorted().joined(separator: ", "))", field: key)
        }
        guard let typeValue = members["objectType"] else {
            throw ToolError(.missingField, "objectType is required, e.g. \"crm_contact\" or \"booking\"", field: "objectType")
        }
        guard case .string(let objectType) = typeValue, !objectType.isEmpty, objectType.count <= maxObjectTypeLengthCharacters else {
            throw ToolError(.badValueType, "objectType must be a non-empty string of at most \(maxObjectTypeLengthCharacters) characters", field: "objectType")
        }

        var filters: [Filter] = []
        if let raw = members["filters"] {
            guard case .array(let elements) = raw else {
                throw ToolError(.badValueType, "filters must be an array of {\"field\", \"op\", \"value\"}", field: "filters")
            }
            guard elements.count <= maxFilterCount else {
                throw ToolError(.outOfRange, "at most \(maxFilterCount) filters", field: "filters")
            }
            for (index, element) in elements.enumerated() {
                filters.append(try parseFilter(element, at: "filters[\(index)]", now: now))
            }
        }

        var includeRelated: [String] = []
        if let raw = members["includeRelated"] {
            guard case .array(let elements) = raw else {
                throw ToolError(.badValueType, "includeRelated must be an array of link types, e.g. [\"contact\"]", field: "includeRelated")
            }
            guard elements.count <= maxIncludeRelatedCount else {
                throw ToolError(.outOfRange, "at most \(maxIncludeRelatedCount) link types in includeRelated", field: "includeRelated")
            }
            for (index, element) in elements.enumerated() {
                guard case .string(let linkType) = element, isLinkType(linkType) else {
                    throw ToolError(.invalidLinkType, "a link type is 1 to 64 letters, digits, _, - or . (e.g. \"bookings\")", field: "includeRelated[\(index)]")
                }
                if !includeRelated.contains(linkType) { includeRelated.append(linkType) }
            }
        }

        var groupBy: Field?
        if let raw = members["groupBy"] {
            guard case .string(let text) = raw else {
                throw ToolError(.badValueType, "groupBy must be a field name such as \"status\"", field: "groupBy")
            }
            groupBy = try Field.parse(text, at: "groupBy")
        }

        var aggregate: Aggregate?
        if let raw = members["aggregate"] {
            aggregate = try parseAggregate(raw)
        } else if groupBy != nil {
            aggregate = Aggregate(kind: .count, field: nil)
        }

        var sort: [SortKey] = []
        if let raw = members["sort"] {
            guard case .array(let elements) = raw else {
                throw ToolError(.badValueType, "sort must be an array such as [{\"field\": \"createdAt\", \"dir\": \"desc\"}]", field: "sort")
            }
            guard elements.count <= maxSortKeyCount else {
                throw ToolError(.outOfRange, "at most \(maxSortKeyCount) sort keys", field: "sort")
            }
            for (index, element) in elements.enumerated() {
                let at = "sort[\(index)]"
                guard case .object(let key) = element else {
                    throw ToolError(.badValueType, "a sort key is {\"field\", \"dir\"}", field: at)
                }
                for name in key.keys.sorted() where name != "field" && name != "dir" {
                    throw ToolError(.unknownKey, "unknown key '\(name)' in a sort key; use field and dir", field: "\(at).\(name)")
                }
                guard case .string(let fieldName) = key["field"] ?? .null else {
                    throw ToolError(.missingField, "a sort key needs a field name", field: "\(at).field")
                }
                let field = try Field.parse(fieldName, at: "\(at).field")
                var descending = false
                switch key["dir"] {
                case nil, .string("asc"): descending = false
                case .string("desc"): descending = true
                default: throw ToolError(.invalidSort, "dir must be \"asc\" or \"desc\"", field: "\(at).dir")
                }
                sort.append(SortKey(field: field, descending: descending))
            }
        }

        let limit = try boundedInteger(members["limit"], name: "limit", maximum: maxLimitObjects,
                                       default: aggregate == nil ? defaultLimitObjects : 0)
        let offset = try boundedInteger(members["offset"], name: "offset", maximum: maxOffsetObjects, default: 0)

        return DataQuery(objectType: objectType, filters: filters, includeRelated: includeRelated, aggregate: aggregate,
                         groupBy: groupBy, sort: sort, limit: limit, offset: offset)
    }

    static func isLinkType(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 64 else { return false }
        return text.utf8.allSatisfy { c in
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 95 || c == 45 || c == 46
        }
    }

    static func boundedInteger(_ value: JSONValue?, name: String, maximum: Int, default fallback: Int) throws(ToolError) -> Int {
        guard let value else { return fallback }
        guard let number = value.intValue else {
            throw ToolError(.badValueType, "\(name) must be a whole number", field: name)
        }
        guard number >= 0, number <= maximum else {
            throw ToolError(.outOfRange, "\(name) must be between 0 and \(maximum); \(name == "limit" ? "use offset to page or an aggregate to count" : "narrow the query with filters instead")", field: name)
        }
        return number
    }

    static func parseAggregate(_ raw: JSONValue) throws(ToolError) -> Aggregate {
        guard case .object(let members) = raw else {
            throw ToolError(.badValueType, "aggregate must be {\"type\": \"count|sum|avg|min|max\", \"field\"?}", field: "aggregate")
        }
        for name in members.keys.sorted() where name != "type" && name != "field" {
            throw ToolError(.unknownKey, "unknown key '\(name)' in aggregate; use type and field", field: "aggregate.\(name)")
        }
        guard case .string(let typeName) = members["type"] ?? .null, let kind = AggregateKind(rawValue: typeName) else {
            throw ToolError(.unknownAggregate, "aggregate.type must be one of count, sum, avg, min, max", field: "aggregate.type")
        }
        var field: Field?
        if let rawField = members["field"] {
            guard case .string(let name) = rawField else {
                throw ToolError(.badValueType, "aggregate.field must be a field name", field: "aggregate.field")
            }
            field = try Field.parse(name, at: "aggregate.field")
        }
        switch kind {
        case .count:
            break
        case .sum, .avg:
            guard case .custom = field else {
                throw ToolError(.unknownAggregate, "\(kind.rawValue) needs a numeric field such as customProperties.price", field: "aggregate.field")
            }
        case .min, .max:
            guard let field, field.isInstant || { if case .custom = field { true } else { false } }() else {
                throw ToolError(.unknownAggregate, "\(kind.rawValue) needs createdAt, updatedAt or a numeric customProperties field", field: "aggregate.field")
            }
        }
        return Aggregate(kind: kind, field: field)
    }

    static func parseFilter(_ raw: JSONValue, at location: String, now: Timestamp) throws(ToolError) -> Filter {
        guard case .object(let members) = raw else {
            throw ToolError(.badValueType, "a filter is {\"field\", \"op\", \"value\"}", field: location)
        }
        for name in members.keys.sorted() where !["field", "op", "value"].contains(name) {
            throw ToolError(.unknownKey, "unknown key '\(name)' in a filter; use field, op and value", field: "\(location).\(name)")
        }
        guard case .string(let fieldName) = members["field"] ?? .null else {
            throw ToolError(.missingField, "a filter needs a field name", field: "\(location).field")
        }
        let field = try Field.parse(fieldName, at: "\(location).field")
        guard case .string(let opName) = members["op"] ?? .null, let op = Operator(rawValue: opName) else {
            throw ToolError(.unknownOperator, "op must be one of \(Operator.allCases.map(\.rawValue).joined(separator: ", "))", field: "\(location).op")
        }
        let valueAt = "\(location).value"
        let value = members["value"]
        switch op {
        case .exists:
            switch value {
            case nil: return Filter(field: field, op: op, operands: [], exists: true)
            case .bool(let flag): return Filter(field: field, op: op, operands: [], exists: flag)
            default: throw ToolError(.badValueType, "exists takes true or false (or no value, meaning true)", field: valueAt)
            }
        case .in, .nin:
            guard case .array(let elements) = value ?? .null, !elements.isEmpty else {
                throw ToolError(.badValueType, "\(op.rawValue) takes a non-empty array of values", field: valueAt)
            }
            guard elements.count <= maxInListCount else {
                throw ToolError(.outOfRange, "at most \(maxInListCount) values in \(op.rawValue)", field: valueAt)
            }
            var operands: [Operand] = []
            for (index, element) in elements.enumerated() {
                operands.append(try operand(element, for: field, op: .eq, at: "\(valueAt)[\(index)]", now: now))
            }
            return Filter(field: field, op: op, operands: operands, exists: true)
        case .contains, .startsWith:
            guard case .string(let text) = value ?? .null, !text.isEmpty else {
                throw ToolError(.badValueType, "\(op.rawValue) takes a non-empty string", field: valueAt)
            }
            if field.isInstant {
                throw ToolError(.badValueType, "\(field) is a timestamp; compare it with gt, gte, lt or lte", field: "\(location).op")
            }
            return Filter(field: field, op: op, operands: [.string(text)], exists: true)
        case .eq, .neq, .gt, .gte, .lt, .lte:
            guard let value else {
                throw ToolError(.missingField, "\(op.rawValue) needs a value", field: valueAt)
            }
            return Filter(field: field, op: op, operands: [try operand(value, for: field, op: op, at: valueAt, now: now)], exists: true)
        }
    }

    /// Types a comparison value: numbers compare as numbers, ISO-8601 strings and relative dates
    /// as instants, other strings as strings. Top-level text fields always compare as strings and
    /// `createdAt`/`updatedAt` always as instants, whatever the value looks like.
    static func operand(_ value: JSONValue, for field: Field, op: Operator, at location: String, now: Timestamp) throws(ToolError) -> Operand {
        let ordering = op == .gt || op == .gte || op == .lt || op == .lte
        switch (field, value) {
        case (.createdAt, _), (.updatedAt, _):
            if case .string(let text) = value, let instant = Timestamp(iso8601: text) { return .instant(instant) }
            if case .object = value { return .instant(try RelativeDate.resolve(value, now: now, at: location)) }
            throw ToolError(.badValueType, "\(field) compares with an ISO-8601 date such as \"2026-11-25\" or \"2026-11-25T10:00:00Z\", or {\"relative\": \"-7d\"}", field: location)
        case (.custom, .number(let number)):
            return .number(number)
        case (.custom, .bool(let flag)):
            guard !ordering else {
                throw ToolError(.badValueType, "a boolean only compares with eq, neq, in or nin", field: location)
            }
            return .bool(flag)
        case (.custom, .string(let text)):
            if let instant = Timestamp(iso8601: text) { return .instant(instant) }
            return .string(text)
        case (.custom, .object):
            return .instant(try RelativeDate.resolve(value, now: now, at: location))
        case (_, .string(let text)):
            return .string(text)
        case (.custom, _):
            throw ToolError(.badValueType, "a value must be a string, number, boolean or {\"relative\": ...}; to test for a missing value use op exists", field: location)
        default:
            throw ToolError(.badValueType, "\(field) is text; compare it with a string", field: location)
        }
    }
}
