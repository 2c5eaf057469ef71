import Foundation
import GRDB
import Projection
import PurserDomain

/// The agents read model: configs in force, their history, status, and the routing table.
public struct AgentsProjector: Projector {
    public static let name = "agents"
    /// 1: first version.
    public static let schemaVersion = 1

    public init() {}

    public var name: String { Self.name }
    public var schemaVersion: Int { Self.schemaVersion }
    /// The target's `schema.sql`, compiled into the module (Package.swift, `projector`).
    public var schemaSQL: String { String(decoding: PackageResources.schema_sql, as: UTF8.self) }
    public var eventTypes: Set<String> { [AgentConfigured.type, AgentStatusChanged.type] }

    public func apply(_ event: ProjectedEvent, _ db: Database) throws {
        let at = event.timestampText
        let actor = event.actor.description
        switch event.type {
        case AgentConfigured.type:
            let configured = try event.decode(AgentConfigured.self)
            let config = configured.config
            let json = try configJSON(config, event)
            try db.cachedStatement(sql: """
                INSERT INTO agents (org, agent_id, revision, name, status, config, configured_seq, configured_at, updated_seq, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (org, agent_id) DO UPDATE SET revision = excluded.revision, name = excluded.name,
                    status = excluded.status, config = excluded.config, configured_seq = excluded.configured_seq,
                    configured_at = excluded.configured_at, updated_seq = excluded.updated_seq, updated_at = excluded.updated_at
                """).execute(arguments: [event.org, configured.agentId, configured.revision, config.name, config.status.rawValue,
                                         json, Int64(event.seq), at, Int64(event.seq), at])
            try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO agent_config_history (org, agent_id, seq, revision, config, actor, configured_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [event.org, configured.agentId, Int64(event.seq), configured.revision, json, actor, at])
            try db.cachedStatement(sql: "DELETE FROM routes WHERE org = ? AND agent_id = ?")
                .execute(arguments: [event.org, configured.agentId])
            // The routes of the config as applied; its org is the envelope's, whatever the JSON says.
            var routed = config
            routed.organizationId = event.org
            routed.id = configured.agentId
            for (address, _) in routed.routes {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO routes (org, agent_id, channel, address, seq) VALUES (?, ?, ?, ?, ?)")
                    .execute(arguments: [event.org, configured.agentId, address.channel.rawValue, address.address, Int64(event.seq)])
            }
        case AgentStatusChanged.type:
            let change = try event.decode(AgentStatusChanged.self)
            try db.cachedStatement(sql: "UPDATE agents SET status = ?, updated_seq = ?, updated_at = ? WHERE org = ? AND agent_id = ?")
                .execute(arguments: [change.to.rawValue, Int64(event.seq), at, event.org, change.agentId])
            try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO agent_status_history (org, agent_id, seq, from_status, to_status, reason, actor, changed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [event.org, change.agentId, Int64(event.seq), change.from.rawValue, change.to.rawValue,
                                         change.reason, actor, at])
        default:
            break
        }
    }

    private func configJSON(_ config: OrgAgentConfig, _ event: ProjectedEvent) throws(ProjectionError) -> String {
        do {
            return try JSONValue(encoding: config).serialized()
        } catch {
            throw ProjectionError(.undecodableEvent, "event #\(event.seq): the config cannot be re-encoded: \(error.message)", cause: error)
        }
    }
}

/// One agent as the read model holds it.
public struct AgentRecord: Sendable, Hashable {
    public var org: String
    public var agentId: String
    public var revision: Int
    public var name: String
    /// The current status (the config's, or the last `agent.status_changed`).
    public var status: AgentStatus
    public var config: OrgAgentConfig
    public var configuredSeq: UInt64
    public var configuredAt: String
    public var updatedAt: String

    public init(org: String, agentId: String, revision: Int, name: String, status: AgentStatus, config: OrgAgentConfig, configuredSeq: UInt64,
                configuredAt: String, updatedAt: String) {
        self.org = org
        self.agentId = agentId
        self.revision = revision
        self.name = name
        self.status = status
        self.config = config
        self.configuredSeq = configuredSeq
        self.configuredAt = configuredAt
        self.updatedAt = updatedAt
    }
}

/// One applied config version.
public struct AgentConfigVersion: Sendable, Hashable {
    public var seq: UInt64
    public var revision: Int
    public var config: OrgAgentConfig
    public var actor: String
    public var configuredAt: String

    public init(seq: UInt64, revision: Int, config: OrgAgentConfig, actor: String, configuredAt: String) {
        self.seq = seq
        self.revision = revision
        self.config = config
        self.actor = actor
        self.configuredAt = configuredAt
    }
}

/// Where the agents model is read when it is not the node's SQLite file: the model in
/// PostgreSQL, shared by every node (set by the runtime). Each read is caught up first; the
/// answers are `AgentsQueries`'.
public protocol AgentsReading: Sendable {
    /// The agents of `org` (of every org when nil), by org and agent id.
    func agents(org: String?) async throws -> [AgentRecord]
    /// One agent, or nil.
    func agent(org: String, agentId: String) async throws -> AgentRecord?
    /// Every config version the agent has had, oldest first.
    func history(org: String, agentId: String) async throws -> [AgentConfigVersion]
    /// The routing table in force.
    func routingTable() async throws -> RoutingTable
}

/// Queries of the agents read model. Every query names its org; none reaches another org's rows.
public enum AgentsQueries {
    /// The agents of `org` (or of every org when nil), ordered by org and agent id.
    public static func agents(_ db: Database, org: String?) throws -> [AgentRecord] {
        let rows = org == nil
            ? try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY org, agent_id")
            : try Row.fetchAll(db, sql: "SELECT * FROM agents WHERE org = ? ORDER BY agent_id", arguments: [org])
        return try rows.map(record)
    }

    /// One agent, or nil.
    public static func agent(_ db: Database, org: String, agentId: String) throws -> AgentRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE org = ? AND agent_id = ?", arguments: [org, agentId]).map(record)
    }

    /// Every config version the agent has had, oldest first.
    public static func history(_ db: Database, org: String, agentId: String) throws -> [AgentConfigVersion] {
        try Row.fetchAll(db, sql: "SELECT * FROM agent_config_history WHERE org = ? AND agent_id = ? ORDER BY seq",
                         arguments: [org, agentId]).map { row in
            AgentConfigVersion(seq: UInt64(row["seq"] as Int64), revision: row["revision"], config: try config(row["config"]),
                               actor: row["actor"], configuredAt: row["configured_at"])
        }
    }

    /// The routing table in force: every enabled binding's address to its org and agent.
    public static func routingTable(_ db: Database) throws -> RoutingTable {
        var table: RoutingTable = [:]
        for row in try Row.fetchAll(db, sql: "SELECT org, agent_id, channel, address FROM routes ORDER BY seq") {
            guard let channel = Channel(rawValue: row["channel"]) else { continue }
            table[ChannelAddress(channel: channel, address: row["address"])] = AgentRef(org: row["org"], agentId: row["agent_id"])
        }
        return table
    }

    /// The agent an inbound message to `address` on `channel` goes to (address normalized).
    public static func route(_ db: Database, channel: Channel, address: String) throws -> AgentRef? {
        try Row.fetchOne(db, sql: "SELECT org, agent_id FROM routes WHERE channel = ? AND address = ? ORDER BY seq DESC LIMIT 1",
                         arguments: [channel.rawValue, address]).map { AgentRef(org: $0["org"], agentId: $0["agent_id"]) }
    }

    private static func record(_ row: Row) throws -> AgentRecord {
        AgentRecord(org: row["org"], agentId: row["agent_id"], revision: row["revision"], name: row["name"],
                    status: AgentStatus(rawValue: row["status"]) ?? .draft, config: try config(row["config"]),
                    configuredSeq: UInt64(row["configured_seq"] as Int64), configuredAt: row["configured_at"],
                    updatedAt: row["updated_at"])
    }

    private static func config(_ json: String) throws -> OrgAgentConfig {
        try JSONValue(parsing: json).decode(OrgAgentConfig.self)
    }
}
