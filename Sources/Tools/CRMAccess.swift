import Foundation
import GRDB
import PurserCore
import PurserDomain

/// Reads of the `crm` read model (projections/crm/schema.sql) shared by the executors.
///
/// `Tools` does not depend on the projector targets, so the SQL is written here against the
/// schema, every statement restricted to `org = ?` with the org of the calling agent's context
/// and every value bound, never spliced.
enum CRMAccess {
    /// Runs `body` in a read transaction with the query functions (`purser_instant`,
    /// `purser_sort_value`, `purser_fold`) registered; any failure that is not already a
    /// `ToolError` becomes `read_model_failed`.
    /// SQLite blocks, so the read runs on `BlockingIO`'s queue, off the cooperative pool.
    static func read<T: Sendable>(_ reader: any DatabaseReader, _ body: @escaping @Sendable (Database) throws -> T) async throws(ToolError) -> T {
        try await BlockingIO.run { () throws(ToolError) -> T in
            do {
                return try reader.read { db in
                    DataQueryEngine.addFunctions(to: db)
                    return try body(db)
                }
            } catch let error as ToolError {
                throw error
            } catch {
                throw ToolError(.readModelFailed, "the CRM read model could not be read; try again later", cause: error)
            }
        }
    }

    /// `purser_fold(text)`: `TextMatching.fold` in SQL, for case- and accent-insensitive name
    /// search (SQLite's own `lower` and `LIKE` fold ASCII only, so `Müller` would miss `muller`).
    static func foldFunction() -> DatabaseFunction {
        DatabaseFunction("purser_fold", argumentCount: 1, pure: true) { values in
            String.fromDatabaseValue(values[0]).map(TextMatching.fold)
        }
    }

    /// An object as the read model holds it.
    struct Stored {
        var object: OntologyObject
        var deleted: Bool
    }

    static let columns = "o.id, o.type, o.subtype, o.name, o.status, o.custom_properties, o.created_at, o.updated_at, o.deleted"

    /// One object of `org` (deleted ones too), or nil.
    static func object(_ db: Database, org: OrgID, id: String) throws -> Stored? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM objects o WHERE o.org = ? AND o.id = ?", arguments: [org, id]).map(stored)
    }

    static func stored(_ row: Row) -> Stored {
        let properties: String = row["custom_properties"] ?? "{}"
        let object = OntologyObject(
            id: row["id"], type: row["type"], subtype: row["subtype"], name: row["name"], status: row["status"],
            customProperties: (try? JSONValue(parsing: properties)) ?? .emptyObject,
            createdAt: (row["created_at"] as String?).flatMap(Timestamp.init(iso8601:)),
            updatedAt: (row["updated_at"] as String?).flatMap(Timestamp.init(iso8601:)))
        return Stored(object: object, deleted: (row["deleted"] as Int? ?? 0) != 0)
    }

    /// The compact JSON of an object, as `data_query_tool` returns items.
    static func compact(_ object: OntologyObject) -> JSONValue {
        var members: [String: JSONValue] = ["id": .string(object.id), "type": .string(object.type),
                                            "customProperties": object.customProperties]
        if let value = object.subtype { members["subtype"] = .string(value) }
        if let value = object.name { members["name"] = .string(value) }
        if let value = object.status { members["status"] = .string(value) }
        if let value = object.createdAt { members["createdAt"] = .string(value.iso8601) }
        if let value = object.updatedAt { members["updatedAt"] = .string(value.iso8601) }
        return DataQueryEngine.trimmed(.object(members))
    }

    /// The live contacts of `org` holding the identity (`phone` in E.164 or `email` lowercased),
    /// through the projector's identity lookup.
    static func contactIDs(_ db: Database, org: OrgID, kind: String, value: String) throws -> [String] {
        try String.fetchAll(db, sql: """
            SELECT DISTINCT i.object_id FROM identities i
            JOIN objects o ON o.org = i.org AND o.id = i.object_id
            WHERE i.org = ? AND i.kind = ? AND i.value = ? AND o.org = ? AND o.type = ? AND o.deleted = 0
            ORDER BY i.object_id
            """, arguments: [org, kind, value, org, CRMExecutor.contactType])
    }

    /// A timestamp argument, refused with the fix when it is not ISO-8601.
    static func instant(_ arguments: JSONValue, _ key: String) throws(ToolError) -> Timestamp {
        guard let text = arguments[key]?.stringValue else {
            throw ToolError(.missingField, "\(key) is required for this action (an ISO-8601 timestamp such as 2026-12-01T10:00:00Z)", field: key)
        }
        guard let instant = Timestamp(iso8601: text) else {
            throw ToolError(.invalidValue, "\(key) '\(text)' is not an ISO-8601 timestamp; write it like 2026-12-01T10:00:00Z", field: key)
        }
        return instant
    }

    /// A required string argument.
    static func string(_ arguments: JSONValue, _ key: String, for action: String) throws(ToolError) -> String {
        guard let text = arguments[key]?.stringValue, !text.isEmpty else {
            throw ToolError(.missingField, "\(key) is required for \(action)", field: key)
        }
        return text
    }
}

