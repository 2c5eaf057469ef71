import Foundation

/// Any JSON value, for data whose shape is the user's (ontology `customProperties`, tool
/// arguments and results) rather than Purser's.
///
/// Numbers are `Double`, as in JavaScript and in the JSON the seed platform produced: integers
/// beyond 2^53 lose precision, which no field Purser reads relies on. Object key order is not
/// kept; `serialized()` writes keys sorted so equal values give equal bytes.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The empty object, the default for `customProperties`.
    public static let emptyObject: JSONValue = .object([:])
}

// MARK: - Accessors

extension JSONValue {
    public var isNull: Bool { if case .null = self { true } else { false } }

    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }

    public var doubleValue: Double? { if case .number(let value) = self { value } else { nil } }

    /// The number as an `Int` when it is a whole number that fits; `nil` for `2.5` or `"2"`.
    public var intValue: Int? {
        guard case .number(let value) = self, value.rounded() == value,
              value >= -9_007_199_254_740_992, value <= 9_007_199_254_740_992 else { return nil }
        return Int(value)
    }

    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }

    public var arrayValue: [JSONValue]? { if case .array(let value) = self { value } else { nil } }

    public var objectValue: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }

    /// The JSON name of this value's kind, for messages such as "must be a string, found number".
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The member `key` of an object; `nil` when this is not an object or has no such member.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    /// The element at `index` of an array; `nil` when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// Looks up a dotted path such as `customProperties.startsAt` or `items.0.name`.
    ///
    /// A segment that is a non-negative integer indexes into an array; every other segment names
    /// an object member. Keys that themselves contain dots cannot be addressed this way; use
    /// `value(atPath:)` with segments for those. Returns `nil` when any step is missing, which
    /// callers treat like SQL's NULL, and `.null` when the value is an explicit JSON null.
    public func value(atPath path: String) -> JSONValue? {
        value(atPath: path.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
    }

    /// Looks up a path given as segments, see `value(atPath:)`.
    public func value(atPath segments: [String]) -> JSONValue? {
        var current = self
        for segment in segments {
            switch current {
            case .object(let members):
                guard let next = members[segment] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(segment), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral {
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: - Codable

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Ordered by how common each kind is in payloads: each miss costs a thrown error.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value.isFinite ? value : 0)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

// MARK: - Diff

/// One changed field between two JSON values, for recording edits (an approval edited before it
/// was granted, an object update) as a diff a person can read.
public struct FieldChange: Sendable, Hashable, Codable {
    /// Dotted path of the changed member; empty when the values differ as a whole.
    public var path: String
    /// The old value; `nil` when the member was added.
    public var before: JSONValue?
    /// The new value; `nil` when the member was removed.
    public var after: JSONValue?

    public init(path: String, before: JSONValue?, after: JSONValue?) {
        self.path = path
        self.before = before
        self.after = after
    }
}

extension JSONValue {
    /// The member-wise changes that turn `old` into `new`, sorted by path. Objects are compared
    /// member by member; arrays and scalars are compared whole.
    public static func diff(from old: JSONValue, to new: JSONValue) -> [FieldChange] {
        var changes: [FieldChange] = []
        collectChanges(old, new, prefix: "", into: &changes)
        return changes.sorted { $0.path < $1.path }
    }

    private static func collectChanges(_ old: JSONValue, _ new: JSONValue, prefix: String, into changes: inout [FieldChange]) {
        guard case .object(let oldMembers) = old, case .object(let newMembers) = new else {
            if old != new { changes.append(FieldChange(path: prefix, before: old, after: new)) }
            return
        }
        for key in Set(oldMembers.keys).union(newMembers.keys) {
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            switch (oldMembers[key], newMembers[key]) {
            case let (before?, after?): collectChanges(before, after, prefix: path, into: &changes)
            case let (before?, nil): changes.append(FieldChange(path: path, before: before, after: nil))
            case let (nil, after?): changes.append(FieldChange(path: path, before: nil, after: after))
            case (nil, nil): break
            }
        }
    }
}
