import PurserDomain

/// A JSON Schema in the OpenAPI 3.0 dialect, built from a few constructors so every body's
/// description reads like the type it describes.
struct Schema: Sendable {
    var json: JSONValue

    init(_ json: JSONValue) { self.json = json }

    static func string(_ description: String? = nil, enumeration: [String]? = nil, minLength: Int? = nil, pattern: String? = nil) -> Schema {
        var fields: [String: JSONValue] = ["type": "string"]
        if let description { fields["description"] = .string(description) }
        if let enumeration { fields["enum"] = .array(enumeration.map(JSONValue.string)) }
        if let minLength { fields["minLength"] = .number(Double(minLength)) }
        if let pattern { fields["pattern"] = .string(pattern) }
        return Schema(.object(fields))
    }

    static func integer(_ description: String? = nil, minimum: Int? = nil, maximum: Int? = nil) -> Schema {
        var fields: [String: JSONValue] = ["type": "integer"]
        if let description { fields["description"] = .string(description) }
        if let minimum { fields["minimum"] = .number(Double(minimum)) }
        if let maximum { fields["maximum"] = .number(Double(maximum)) }
        return Schema(.object(fields))
    }

    static func number(_ description: String? = nil) -> Schema {
        var fields: [String: JSONValue] = ["type": "number"]
        if let description { fields["description"] = .string(description) }
        return Schema(.object(fields))
    }

    static let boolean = Schema(["type": "boolean"])

    static func array(_ items: Schema) -> Schema { Schema(["type": "array", "items": items.json]) }

    /// An object with exactly these properties (`additionalProperties: false`, so a field the
    /// code sends but the description lacks fails the schema tests).
    static func object(_ properties: [String: Schema], required: [String], description: String? = nil) -> Schema {
        precondition(Set(required).isSubset(of: properties.keys), "a required property must be described")
        var fields: [String: JSONValue] = [
            "type": "object",
            "properties": .object(properties.mapValues(\.json)),
            "additionalProperties": false,
        ]
        if !required.isEmpty { fields["required"] = .array(required.sorted().map(JSONValue.string)) }
        if let description { fields["description"] = .string(description) }
        return Schema(.object(fields))
    }

    /// An object whose members are open by nature (a tool's arguments, an agent's custom
    /// properties, a CRM object's fields): the members known to every instance, any others allowed.
    static func openObject(_ description: String, properties: [String: Schema] = [:], required: [String] = []) -> Schema {
        var fields: [String: JSONValue] = ["type": "object", "description": .string(description), "additionalProperties": true]
        if !properties.isEmpty { fields["properties"] = .object(properties.mapValues(\.json)) }
        if !required.isEmpty { fields["required"] = .array(required.sorted().map(JSONValue.string)) }
        return Schema(.object(fields))
    }

    /// Any JSON value (a custom field's value, a group key).
    static func anyValue(_ description: String) -> Schema {
        Schema(["description": .string(description), "nullable": true])
    }

    /// The same schema, with `null` allowed (the field is sent as `null` when it has no value).
    var nullable: Schema {
        guard case .object(var fields) = json else { return self }
        fields["nullable"] = true
        return Schema(.object(fields))
    }

    /// A reference to a described type's component.
    static func ref<T: OpenAPIDescribed>(_ type: T.Type) -> Schema {
        Schema(["$ref": .string("#/components/schemas/" + T.schemaName)])
    }
}

/// A body type of the HTTP API that describes itself: its schema sits beside its fields, and
/// `/openapi.json` is assembled from these descriptions, so the document follows the code.
protocol OpenAPIDescribed: Sendable {
    static var schema: Schema { get }
    static var schemaName: String { get }
}

extension OpenAPIDescribed {
    static var schemaName: String { String(describing: Self.self) }
}

/// A field sent as `null` when it has no value (where a plain optional would be left out), so
/// clients can tell "no value" from "not part of this answer".
@propertyWrapper
struct Nullable<Value: Codable & Sendable>: Codable, Sendable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A `@Nullable` field that is missing decodes as nil.
    func decode<V>(_ type: Nullable<V>.Type, forKey key: Key) throws -> Nullable<V> {
        try decodeIfPresent(type, forKey: key) ?? Nullable(wrappedValue: nil)
    }
}
