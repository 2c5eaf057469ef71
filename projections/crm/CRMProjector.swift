import Foundation
import GRDB
import Projection
import PurserCore
import PurserDomain

/// The CRM read model: ontology objects and links per org, and the identity lookup by
/// normalized E.164 phone and lowercased email.
public struct CRMProjector: Projector {
    public static let name = "crm"
    /// 1: first version.
    public static let schemaVersion = 1

    public init() {}

    public var name: String { Self.name }
    public var schemaVersion: Int { Self.schemaVersion }
    /// The target's `schema.sql`, compiled into the module (Package.swift, `projector`).
    public var schemaSQL: String { String(decoding: PackageResources.schema_sql, as: UTF8.self) }
    public var eventTypes: Set<String> {
        [ObjectCreated.type, ObjectUpdated.type, ObjectDeleted.type, LinkCreated.type, LinkDeleted.type]
    }

    public func apply(_ event: ProjectedEvent, _ db: Database) throws {
        let seq = Int64(event.seq)
        switch event.type {
        case ObjectCreated.type:
            try upsert(try event.decode(ObjectCreated.self).object, event, db)
        case ObjectUpdated.type:
            try upsert(try event.decode(ObjectUpdated.self).object, event, db)
        case ObjectDeleted.type:
            let deleted = try event.decode(ObjectDeleted.self)
            try db.cachedStatement(sql: "UPDATE objects SET deleted = 1, updated_at = ?, seq = ? WHERE org = ? AND id = ?")
                .execute(arguments: [event.timestampText, seq, event.org, deleted.id])
            try db.cachedStatement(sql: "DELETE FROM identities WHERE org = ? AND object_id = ?").execute(arguments: [event.org, deleted.id])
            try db.cachedStatement(sql: "DELETE FROM links WHERE org = ? AND (from_id = ? OR to_id = ?)")
                .execute(arguments: [event.org, deleted.id, deleted.id])
        case LinkCreated.type:
            let link = try event.decode(LinkCreated.self).link
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO links (org, from_id, link_type, to_id, seq) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [event.org, link.from, link.linkType, link.to, seq])
        case LinkDeleted.type:
            let link = try event.decode(LinkDeleted.self).link
            try db.cachedStatement(sql: "DELETE FROM links WHERE org = ? AND from_id = ? AND link_type = ? AND to_id = ?")
                .execute(arguments: [event.org, link.from, link.linkType, link.to])
        default:
            break
        }
    }

    private func upsert(_ object: OntologyObject, _ event: ProjectedEvent, _ db: Database) throws {
        let at = event.timestampText
        try db.cachedStatement(sql: """
            INSERT INTO objects (org, id, type, subtype, name, status, custom_properties, created_at, updated_at, deleted, seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
            ON CONFLICT (org, id) DO UPDATE SET type = excluded.type, subtype = excluded.subtype, name = excluded.name,
                status = excluded.status, custom_properties = excluded.custom_properties,
                created_at = CASE WHEN objects.deleted = 1 THEN excluded.created_at ELSE coalesce(?, objects.created_at) END,
                updated_at = excluded.updated_at, deleted = 0, seq = excluded.seq
            """).execute(arguments: [event.org, object.id, object.type, object.subtype, object.name, object.status,
                                     object.customProperties.serialized(), object.createdAt?.iso8601 ?? at,
                                     object.updatedAt?.iso8601 ?? at, Int64(event.seq), object.createdAt?.iso8601])
        try db.cachedStatement(sql: "DELETE FROM identities WHERE org = ? AND object_id = ?").execute(arguments: [event.org, object.id])
        for (kind, value) in Self.identities(of: object) {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO identities (org, kind, value, object_id) VALUES (?, ?, ?, ?)")
                .execute(arguments: [event.org, kind, value, object.id])
        }
    }

    /// The normalized phone numbers and email addresses of an object's `customProperties`
    /// (`phone`, `mobile`, `whatsapp`, `email`); values that do not normalize are left out.
    public static func identities(of object: OntologyObject) -> [(String, String)] {
        var out: [(String, String)] = []
        for key in ["phone", "mobile", "whatsapp"] {
            if let raw = object.customProperties[key]?.stringValue, let phone = try? AddressNormalizer.phone(raw) {
                out.append(("phone", phone))
            }
        }
        if let raw = object.customProperties["email"]?.stringValue, let email = try? AddressNormalizer.email(raw) {
            out.append(("email", email))
        }
        return out
    }
}

/// One object as the read model holds it.
public struct CRMObjectRecord: Sendable, Hashable {
    public var org: String
    public var object: OntologyObject
    public var deleted: Bool
    public var seq: UInt64

    /// The object as a JSON value in the import format (plus `deleted` when it is).
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["id": .string(object.id), "type": .string(object.type),
                                           "customProperties": object.customProperties]
        if let v = object.subtype { fields["subtype"] = .string(v) }
        if let v = object.name { fields["name"] = .string(v) }
        if let v = object.status { fields["status"] = .string(v) }
        if let v = object.createdAt { fields["createdAt"] = .string(v.iso8601) }
        if let v = object.updatedAt { fields["updatedAt"] = .string(v.iso8601) }
        if deleted { fields["deleted"] = .bool(true) }
        return .object(fields)
    }
}

/// Queries of the CRM read model, each scoped to one org.
public enum CRMQueries {
    /// The org's live objects, optionally of one type, ordered by id.
    public static func objects(_ db: Database, org: String, type: String? = nil, includeDeleted: Bool = false) throws -> [CRMObjectRecord] {
        var sql = "SELECT * FROM objects WHERE org = ?"
        var args: [any DatabaseValueConvertible] = [org]
        if let type {
            sql += " AND type = ?"
            args.append(type)
        }
        if !includeDeleted { sql += " AND deleted = 0" }
        sql += " ORDER BY id"
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(record)
    }

    /// One object (deleted ones too), or nil.
    public static func object(_ db: Database, org: String, id: String) throws -> CRMObjectRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM objects WHERE org = ? AND id = ?", arguments: [org, id]).map(record)
    }

    /// The links that start at `id`.
    public static func links(_ db: Database, org: String, from id: String) throws -> [ObjectLink] {
        try Row.fetchAll(db, sql: "SELECT from_id, to_id, link_type FROM links WHERE org = ? AND from_id = ? ORDER BY link_type, to_id",
                         arguments: [org, id]).map { ObjectLink(from: $0["from_id"], to: $0["to_id"], linkType: $0["link_type"]) }
    }

    /// The links that end at `id`.
    public static func links(_ db: Database, org: String, to id: String) throws -> [ObjectLink] {
        try Row.fetchAll(db, sql: "SELECT from_id, to_id, link_type FROM links WHERE org = ? AND to_id = ? ORDER BY link_type, from_id",
                         arguments: [org, id]).map { ObjectLink(from: $0["from_id"], to: $0["to_id"], linkType: $0["link_type"]) }
    }

    /// The ids of the org's live objects whose phone (normalized to E.164) is `phone`.
    public static func objectIDs(_ db: Database, org: String, phone: String) throws -> [String] {
        guard let normalized = try? AddressNormalizer.phone(phone) else { return [] }
        return try String.fetchAll(db, sql: "SELECT object_id FROM identities WHERE org = ? AND kind = 'phone' AND value = ? ORDER BY object_id",
                                   arguments: [org, normalized])
    }

    /// The ids of the org's live objects whose email (lowercased) is `email`.
    public static func objectIDs(_ db: Database, org: String, email: String) throws -> [String] {
        guard let normalized = try? AddressNormalizer.email(email) else { return [] }
        return try String.fetchAll(db, sql: "SELECT object_id FROM identities WHERE org = ? AND kind = 'email' AND value = ? ORDER BY object_id",
                                   arguments: [org, normalized])
    }

    private static func record(_ row: Row) throws -> CRMObjectRecord {
        let props = (try? JSONValue(parsing: row["custom_properties"] as String)) ?? .emptyObject
        let object = OntologyObject(id: row["id"], type: row["type"], subtype: row["subtype"], name: row["name"], status: row["status"],
                                    customProperties: props, createdAt: (row["created_at"] as String?).flatMap(Timestamp.init(iso8601:)),
                                    updatedAt: (row["updated_at"] as String?).flatMap(Timestamp.init(iso8601:)))
        return CRMObjectRecord(org: row["org"], object: object, deleted: (row["deleted"] as Int) != 0, seq: UInt64(row["seq"] as Int64))
    }
}
