import Foundation
import GRDB
import Projection
import PurserDomain

/// The spend read model: per org, agent and UTC day, the messages, tokens and USD charged
/// (`cost.charged`), which the daily caps are checked against.
public struct SpendProjector: Projector {
    public static let name = "spend"
    /// 1: first version.
    public static let schemaVersion = 1

    public init() {}

    public var name: String { Self.name }
    public var schemaVersion: Int { Self.schemaVersion }
    /// The target's `schema.sql`, compiled into the module (Package.swift, `projector`).
    public var schemaSQL: String { String(decoding: PackageResources.schema_sql, as: UTF8.self) }
    public var eventTypes: Set<String> { [CostCharged.type] }

    public func apply(_ event: ProjectedEvent, _ db: Database) throws {
        let p = try PayloadFields(event)
        let agent = try p.string("agentId"), day = try p.string("day")
        let usd = try p.double("usd"), tokens = try p.int("tokens"), messages = try p.int("messages")
        try db.run("""
            INSERT INTO spend (org, agent_id, day, messages, tokens, usd, charges) VALUES (?, ?, ?, ?, ?, ?, 1)
            ON CONFLICT (org, agent_id, day) DO UPDATE SET messages = messages + excluded.messages,
                tokens = tokens + excluded.tokens, usd = usd + excluded.usd, charges = charges + 1
            """) { b in
            b.bind(1, event.org); b.bind(2, agent); b.bind(3, day); b.bind(4, messages); b.bind(5, tokens); b.bind(6, usd)
        }
    }
}

/// One agent's spend on one day.
public struct SpendRecord: Sendable, Hashable {
    public var org: String
    public var agentId: String
    public var day: String
    public var messages: Int
    public var tokens: Int
    public var usd: Double

    public init(org: String, agentId: String, day: String, messages: Int, tokens: Int, usd: Double) {
        self.org = org
        self.agentId = agentId
        self.day = day
        self.messages = messages
        self.tokens = tokens
        self.usd = usd
    }
}

/// Queries of the spend read model, each scoped to one org.
public enum SpendQueries {
    /// The org's spend, optionally for one day, ordered by day and agent.
    public static func spend(_ db: Database, org: String, day: String? = nil) throws -> [SpendRecord] {
        let rows = day == nil
            ? try Row.fetchAll(db, sql: "SELECT * FROM spend WHERE org = ? ORDER BY day, agent_id", arguments: [org])
            : try Row.fetchAll(db, sql: "SELECT * FROM spend WHERE org = ? AND day = ? ORDER BY agent_id", arguments: [org, day])
        return rows.map {
            SpendRecord(org: $0["org"], agentId: $0["agent_id"], day: $0["day"], messages: $0["messages"], tokens: $0["tokens"], usd: $0["usd"])
        }
    }
}

/// Where the spend model is read when it is not the node's SQLite file: the model in PostgreSQL,
/// shared by every node (set by the runtime). Caught up with the org before it answers, so a read
/// sees every charge committed before it, whichever node wrote it.
public protocol SpendReading: Sendable {
    /// The org's spend, optionally for one day, ordered by day and agent (`SpendQueries.spend`).
    func spend(org: String, day: String?) async throws -> [SpendRecord]
}
