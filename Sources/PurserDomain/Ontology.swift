import Foundation
import PurserCore

/// An organization's id. Every ontology object, link, agent and event belongs to exactly one.
public typealias OrgID = String

/// One object of an organization's ontology: a CRM contact, a booking, a product, a knowledge
/// document, an agent configuration...
///
/// The object does not carry its org: the org is the scope it lives in (the event envelope's
/// `org`, the `--org` of an import), so the same `id` in two orgs names two different objects and
/// no object's JSON can move it into another org. Use `ObjectKey` where both are needed.
public struct OntologyObject: Sendable, Hashable, Codable {
    /// Unique within the org.
    public var id: String
    /// The kind of object, e.g. `crm_contact`, `booking`, `product`; what the data query tool's
    /// `objectType` matches.
    public var type: String
    public var subtype: String?
    public var name: String?
    public var status: String?
    /// The type-specific fields; always a JSON object.
    public var customProperties: JSONValue
    public var createdAt: Timestamp?
    public var updatedAt: Timestamp?

    public init(id: String, type: String, subtype: String? = nil, name: String? = nil, status: String? = nil,
                customProperties: JSONValue = .emptyObject, createdAt: Timestamp? = nil, updatedAt: Timestamp? = nil) {
        self.id = id
        self.type = type
        self.subtype = subtype
        self.name = name
        self.status = status
        self.customProperties = customProperties
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, type, subtype, name, status, customProperties, createdAt, updatedAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        type = try container.decode(String.self, forKey: .type)
        subtype = try container.decodeIfPresent(String.self, forKey: .subtype)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        customProperties = try container.decodeIfPresent(JSONValue.self, forKey: .customProperties) ?? .emptyObject
        createdAt = try container.decodeIfPresent(Timestamp.self, forKey: .createdAt)
        updatedAt = try container.decodeIfPresent(Timestamp.self, forKey: .updatedAt)
    }

    /// The names the data query tool accepts besides `customProperties.<path>`.
    public static let topLevelFields: [String] = ["id", "type", "subtype", "name", "status", "createdAt", "updatedAt"]

    /// The value of a query field: a top-level field (`status`, `createdAt`, ...) or a dotted
    /// `customProperties.<path>`. Timestamps come back as their ISO-8601 strings. `nil` when the
    /// field is absent, so callers can tell "missing" from an explicit JSON null.
    public func value(forField field: String) -> JSONValue? {
        switch field {
        case "id": return .string(id)
        case "type": return .string(type)
        case "subtype": return subtype.map(JSONValue.string)
        case "name": return name.map(JSONValue.string)
        case "status": return status.map(JSONValue.string)
        case "createdAt": return createdAt.map { .string($0.iso8601) }
        case "updatedAt": return updatedAt.map { .string($0.iso8601) }
        case "customProperties": return customProperties
        default:
            let prefix = "customProperties."
            guard field.hasPrefix(prefix) else { return nil }
            return customProperties.value(atPath: String(field.dropFirst(prefix.count)))
        }
    }

    /// The object within an org.
    public func key(in org: OrgID) -> ObjectKey { ObjectKey(org: org, id: id) }
}

/// A directed, typed relation between two objects of the same org, e.g. a contact's `bookings`.
public struct ObjectLink: Sendable, Hashable, Codable {
    public var from: String
    public var to: String
    /// The relation's name, which the data query tool's `includeRelated` follows.
    public var linkType: String

    public init(from: String, to: String, linkType: String) {
        self.from = from
        self.to = to
        self.linkType = linkType
    }
}

/// An object's identity across orgs: ids are unique only within an org.
public struct ObjectKey: Sendable, Hashable, Codable, CustomStringConvertible {
    public var org: OrgID
    public var id: String

    public init(org: OrgID, id: String) {
        self.org = org
        self.id = id
    }

    public var description: String { "\(org)/\(id)" }
}
