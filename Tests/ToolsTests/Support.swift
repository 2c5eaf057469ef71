import Foundation
@_exported import PurserTestSupport
import GRDB
import PurserDomain
@testable import Tools

/// A CRM object as the tests write it into the read model and as the reference evaluator reads it.
struct TestObject: Sendable {
    var id: String
    var type: String
    var subtype: String?
    var name: String?
    var status: String?
    var customProperties: JSONValue
    var createdAt: String
    var updatedAt: String
    var deleted = false

    init(id: String, type: String, subtype: String? = nil, name: String? = nil, status: String? = nil,
         customProperties: JSONValue, createdAt: String, updatedAt: String, deleted: Bool = false) {
        self.id = id
        self.type = type
        self.subtype = subtype
        self.name = name
        self.status = status
        self.customProperties = customProperties
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deleted = deleted
    }
}

struct TestLink: Sendable {
    var from: String
    var linkType: String
    var to: String
}

enum CRMStore {
    static var schemaSQL: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return try String(contentsOf: root.appendingPathComponent("projections/crm/schema.sql"), encoding: .utf8)
        }
    }

    /// An in-memory read model holding `objects` and `links` per org.
    static func make(_ orgs: [OrgID: ([TestObject], [TestLink])]) throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: try schemaSQL)
            var seq = 0
            for (org, content) in orgs {
                for object in content.0 {
                    seq += 1
                    try db.execute(sql: """
                        INSERT INTO objects (org, id, type, subtype, name, status, custom_properties, created_at, updated_at, deleted, seq)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [org, object.id, object.type, object.subtype, object.name, object.status,
                                         object.customProperties.serialized(), object.createdAt, object.updatedAt,
                                         object.deleted ? 1 : 0, seq])
                }
                for link in content.1 {
                    seq += 1
                    try db.execute(sql: "INSERT OR IGNORE INTO links (org, from_id, link_type, to_id, seq) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [org, link.from, link.linkType, link.to, seq])
                }
            }
        }
        return queue
    }
}

extension JSONValue {
    /// The `items[].id` of a query result.
    var itemIDs: [String] {
        (self["items"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    }
}
