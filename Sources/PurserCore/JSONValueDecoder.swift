import Foundation

/// Decodes `Decodable` types from a `JSONValue` tree.
///
/// The catalog reads payloads this way instead of through `JSONDecoder`: with the project's own
/// parser it is faster, and fields typed `JSONValue` (tool arguments and results,
/// `customProperties`) are handed over as they are, where `JSONDecoder` can only find their kind
/// by trial decoding, which costs a thrown error per attempt. It also decodes upcast payloads
/// without serializing them again, and lets other modules decode tool arguments straight from a
/// parsed value. Errors are the standard `DecodingError`s with coding paths.
///
/// Types are decoded through their own `Codable` conformance; unlike `JSONDecoder` there are no
/// special strategies for `Date` or `Data` (payloads use `Timestamp` and strings instead).
public struct JSONValueDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        return try T(from: TreeDecoder(value: value, path: .root))
    }
}

/// The coding path as a persistent list, so decoding a field costs no array copy; it becomes an
/// array only when an error or a type asks for it.
private indirect enum PathList {
    case root
    case node(PathList, any CodingKey)

    var array: [any CodingKey] {
        var keys: [any CodingKey] = []
        var current = self
        while case .node(let parent, let key) = current {
            keys.append(key)
            current = parent
        }
        return keys.reversed()
    }
}

private struct TreeDecoder: Decoder {
    let value: JSONValue
    let path: PathList
    var codingPath: [any CodingKey] { path.array }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw DecodingError.typeMismatch([String: JSONValue].self, .init(codingPath: codingPath, debugDescription: "expected an object, found \(value.kindName)"))
        }
        return KeyedDecodingContainer(KeyedTree<Key>(members: members, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw DecodingError.typeMismatch([JSONValue].self, .init(codingPath: codingPath, debugDescription: "expected an array, found \(value.kindName)"))
        }
        return UnkeyedTree(elements: elements, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleTree(value: value, path: path) }
}

/// Reading one scalar, shared by the three container kinds.
private enum Scalar {
    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: PathList) -> DecodingError {
        .typeMismatch(type, .init(codingPath: path.array, debugDescription: "expected \(type), found \(value.kindName)"))
    }

    static func bool(_ value: JSONValue, _ path: @autoclosure () -> PathList) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(Bool.self, value, path()) }
        return flag
    }

    static func string(_ value: JSONValue, _ path: @autoclosure () -> PathList) throws -> String {
        guard case .string(let text) = value else { throw mismatch(String.self, value, path()) }
        return text
    }

    static func double(_ value: JSONValue, _ path: @autoclosure () -> PathList) throws -> Double {
        guard case .number(let number) = value else { throw mismatch(Double.self, value, path()) }
        return number
    }

    static func integer<T: FixedWidthInteger>(_ value: JSONValue, _ path: @autoclosure () -> PathList) throws -> T {
        guard case .number(let number) = value else { throw mismatch(T.self, value, path()) }
        guard number.rounded() == number, let exact = T(exactly: number) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path().array, debugDescription: "\(JSONValue.number(number)) does not fit \(T.self)"))
        }
        return exact
    }

    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ path: @autoclosure () -> PathList) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        return try T(from: TreeDecoder(value: value, path: path()))
    }
}

private struct KeyedTree<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let path: PathList
    var codingPath: [any CodingKey] { path.array }

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \"\(key.stringValue)\""))
        }
        return value
    }

    private func path(_ key: Key) -> PathList { .node(path, key) }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key).isNull }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Scalar.bool(value(key), path(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try Scalar.string(value(key), path(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Scalar.double(value(key), path(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try Scalar.double(value(key), path(key))) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Scalar.integer(value(key), path(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try Scalar.integer(value(key), path(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try Scalar.integer(value(key), path(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try Scalar.integer(value(key), path(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try Scalar.integer(value(key), path(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try Scalar.integer(value(key), path(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try Scalar.integer(value(key), path(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try Scalar.integer(value(key), path(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try Scalar.integer(value(key), path(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try Scalar.integer(value(key), path(key)) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try Scalar.decode(T.self, value(key), path(key)) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: value(key), path: path(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(value: value(key), path: path(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TreeDecoder(value: members["super"] ?? .null, path: path)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(value: members[key.stringValue] ?? .null, path: path(key))
    }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedTree: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let path: PathList
    var codingPath: [any CodingKey] { path.array }
    var currentIndex = 0

    init(elements: [JSONValue], path: PathList) {
        self.elements = elements
        self.path = path
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next(_ type: Any.Type) throws -> (JSONValue, PathList) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "array has only \(elements.count) elements"))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], .node(path, IndexKey(currentIndex)))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let (v, p) = try next(type); return try Scalar.bool(v, p) }
    mutating func decode(_ type: String.Type) throws -> String { let (v, p) = try next(type); return try Scalar.string(v, p) }
    mutating func decode(_ type: Double.Type) throws -> Double { let (v, p) = try next(type); return try Scalar.double(v, p) }
    mutating func decode(_ type: Float.Type) throws -> Float { let (v, p) = try next(type); return Float(try Scalar.double(v, p)) }
    mutating func decode(_ type: Int.Type) throws -> Int { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let (v, p) = try next(type); return try Scalar.integer(v, p) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { let (v, p) = try next(type); return try Scalar.decode(T.self, v, p) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (v, p) = try next([String: JSONValue].self)
        return try TreeDecoder(value: v, path: p).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (v, p) = try next([JSONValue].self)
        return try TreeDecoder(value: v, path: p).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (v, p) = try next(JSONValue.self)
        return TreeDecoder(value: v, path: p)
    }
}

private struct SingleTree: SingleValueDecodingContainer {
    let value: JSONValue
    let path: PathList
    var codingPath: [any CodingKey] { path.array }

    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try Scalar.bool(value, path) }
    func decode(_ type: String.Type) throws -> String { try Scalar.string(value, path) }
    func decode(_ type: Double.Type) throws -> Double { try Scalar.double(value, path) }
    func decode(_ type: Float.Type) throws -> Float { Float(try Scalar.double(value, path)) }
    func decode(_ type: Int.Type) throws -> Int { try Scalar.integer(value, path) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Scalar.integer(value, path) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Scalar.integer(value, path) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Scalar.integer(value, path) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Scalar.integer(value, path) }
    func decode(_ type: UInt.Type) throws -> UInt { try Scalar.integer(value, path) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try Scalar.integer(value, path) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try Scalar.integer(value, path) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try Scalar.integer(value, path) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try Scalar.integer(value, path) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try Scalar.decode(T.self, value, path) }
}
