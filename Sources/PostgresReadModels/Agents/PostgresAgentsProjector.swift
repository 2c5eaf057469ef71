import AgentsProjection
import Logging
import PostgresNIO
import Projection
import PurserCore
import PurserDomain

/// The agents model in PostgreSQL: the config in force per org and agent, every version applied,
/// status changes and the routing table, the same rows as its SQLite twin (projections/agents),
/// so every node routes and answers with the configs any node applied.
///
/// Configs change seldom: each event is applied with the SQLite model's statements, one after
/// another, inside the catch-up's transaction.
public struct PostgresAgentsProjector: PostgresProjector {
    public init() {}

    public var name: String { AgentsProjector.name }
    /// 1: first version.
    public var schemaVersion: Int { 1 }
    public var eventTypes: Set<String> { AgentsProjector().eventTypes }

    public var schemaStatements: [String] {
        [
            """
            CREATE TABLE {schema}.agents (
                org text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C" NOT NULL,
                revision bigint NOT NULL,
                name text COLLATE "C" NOT NULL,
                status text COLLATE "C" NOT NULL,
                config text NOT NULL,
                configured_seq bigint NOT NULL,
                configured_at text COLLATE "C" NOT NULL,
                updated_seq bigint NOT NULL,
                updated_at text COLLATE "C" NOT NULL,
                PRIMARY KEY (org, agent_id)
            )
            """,
            """
            CREATE TABLE {schema}.agent_config_history (
                org text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                revision bigint NOT NULL,
                config text NOT NULL,
                actor text COLLATE "C" NOT NULL,
                configured_at text COLLATE "C" NOT NULL,
                PRIMARY KEY (org, agent_id, seq)
            )
            """,
            """
            CREATE TABLE {schema}.agent_status_history (
                org text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                from_status text COLLATE "C" NOT NULL,
                to_status text COLLATE "C" NOT NULL,
                reason text,
                actor text COLLATE "C" NOT NULL,
                changed_at text COLLATE "C" NOT NULL,
                PRIMARY KEY (org, agent_id, seq)
            )
            """,
            """
            CREATE TABLE {schema}.routes (
                org text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C" NOT NULL,
                channel text COLLATE "C" NOT NULL,
                address text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                PRIMARY KEY (org, agent_id, channel, address)
            )
            """,
            "CREATE INDEX routes_by_address ON {schema}.routes (channel, address, seq)",
        ]
    }

    /// One event's change, decoded.
    enum Change {
        case configured(agentId: String, revision: Int, config: OrgAgentConfig, json: String, routes: [ChannelAddress])
        case status(AgentStatusChanged)
    }

    /// The change one event makes, or why it cannot be read (synchronous, apart from the async
    /// `apply`: see `PostgresCRMProjector.change(of:)`).
    static func change(of event: ProjectedEvent) -> Result<Change?, ProjectionError> {
        do {
            switch event.type {
            case AgentConfigured.type:
                let configured = try event.decode(AgentConfigured.self)
                let json = try configJSON(configured.config, event)
                // The routes of the config as applied; its org is the envelope's, whatever the JSON says.
                var routed = configured.config
                routed.organizationId = event.org
                routed.id = configured.agentId
                return .success(.configured(agentId: configured.agentId, revision: configured.revision, config: configured.config,
                                            json: PostgresJSON.storable(json), routes: Array(routed.routes.keys)))
            case AgentStatusChanged.type:
                return .success(.status(try event.decode(AgentStatusChanged.self)))
            default:
                return .success(nil)
            }
        } catch let error {
            return .failure(error)
        }
    }

    static func configJSON(_ config: OrgAgentConfig, _ event: ProjectedEvent) throws(ProjectionError) -> String {
        do {
            return try JSONValue(encoding: config).serialized()
        } catch {
            throw ProjectionError(.undecodableEvent, "event #\(event.seq): the config cannot be re-encoded: \(error.message)", cause: error)
        }
    }

    public func apply(_ events: [ProjectedEvent], org: String, schema s: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var skipped = 0
        for event in events {
            let change: Change
            switch Self.change(of: event) {
            case .success(let decoded?): change = decoded
            case .success(nil): continue
            case .failure(let error):
                skipped += 1
                logger.warning("read model agents: skipped event #\(event.seq) of org \(org): \(error.message)")
                continue
            }
            let seq = Int64(event.seq), at = event.timestampText, actor = PostgresJSON.storable(event.actor.description)
            switch change {
            case .configured(let agentId, let revision, let config, let json, let routes):
                try await connection.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(s).agents (org, agent_id, revision, name, status, config, configured_seq, configured_at, updated_seq, updated_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $8)
                    ON CONFLICT (org, agent_id) DO UPDATE SET revision = excluded.revision, name = excluded.name,
                        status = excluded.status, config = excluded.config, configured_seq = excluded.configured_seq,
                        configured_at = excluded.configured_at, updated_seq = excluded.updated_seq, updated_at = excluded.updated_at
                    """, binds: PostgresBindings.of(org, agentId, Int64(revision), PostgresJSON.storable(config.name), config.status.rawValue, json, seq, at)),
                    logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(s).agent_config_history (org, agent_id, seq, revision, config, actor, configured_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    ON CONFLICT (org, agent_id, seq) DO UPDATE SET revision = excluded.revision, config = excluded.config,
                        actor = excluded.actor, configured_at = excluded.configured_at
                    """, binds: PostgresBindings.of(org, agentId, seq, Int64(revision), json, actor, at)), logger: logger)
                // Two statements: a DELETE in a WITH clause is not seen by the INSERT beside it.
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(s).routes WHERE org = $1 AND agent_id = $2",
                                                         binds: PostgresBindings.of(org, agentId)), logger: logger)
                if !routes.isEmpty {
                    var binds = PostgresBindings.of(org, agentId, seq)
                    binds.append(routes.map(\.channel.rawValue))
                    binds.append(routes.map { PostgresJSON.storable($0.address) })
                    try await connection.query(PostgresQuery(unsafeSQL: """
                        INSERT INTO \(s).routes (org, agent_id, channel, address, seq)
                        SELECT $1, $2, u.channel, u.address, $3::bigint FROM unnest($4::text[], $5::text[]) AS u(channel, address)
                        """, binds: binds), logger: logger)
                }
            case .status(let change):
                try await connection.query(PostgresQuery(unsafeSQL: """
                    UPDATE \(s).agents SET status = $3, updated_seq = $4, updated_at = $5 WHERE org = $1 AND agent_id = $2
                    """, binds: PostgresBindings.of(org, change.agentId, change.to.rawValue, seq, at)), logger: logger)
                var binds = PostgresBindings.of(org, change.agentId, seq, change.from.rawValue, change.to.rawValue)
                binds.append(change.reason.map(PostgresJSON.storable))
                binds.append(actor)
                binds.append(at)
                try await connection.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(s).agent_status_history (org, agent_id, seq, from_status, to_status, reason, actor, changed_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                    ON CONFLICT (org, agent_id, seq) DO UPDATE SET from_status = excluded.from_status, to_status = excluded.to_status,
                        reason = excluded.reason, actor = excluded.actor, changed_at = excluded.changed_at
                    """, binds: binds), logger: logger)
            }
        }
        return skipped
    }

}

/// `AgentsReading` on the model in PostgreSQL: caught up first (the org, or every org for the
/// reads across orgs), then the same rows and order as `AgentsQueries`.
public struct PostgresAgentsQueries: AgentsReading {
    public let model: PostgresReadModel

    public init(model: PostgresReadModel) {
        precondition(model.name == AgentsProjector.name, "PostgresAgentsQueries reads the agents model, not \(model.name)")
        self.model = model
    }


    static let agentColumns = "org, agent_id, revision, name, status, config, configured_seq, configured_at, updated_at"

    static func record(_ c: PostgresRandomAccessRow) throws -> AgentRecord {
        AgentRecord(org: try c[0].decode(String.self), agentId: try c[1].decode(String.self), revision: Int(try c[2].decode(Int64.self)),
                    name: try c[3].decode(String.self), status: AgentStatus(rawValue: try c[4].decode(String.self)) ?? .draft,
                    config: try config(try c[5].decode(String.self)), configuredSeq: UInt64(try c[6].decode(Int64.self)),
                    configuredAt: try c[7].decode(String.self), updatedAt: try c[8].decode(String.self))
    }

    static func config(_ json: String) throws -> OrgAgentConfig {
        try JSONValue(parsing: json).decode(OrgAgentConfig.self)
    }

    public func agents(org: String?) async throws -> [AgentRecord] {
        if let org { try await model.catchUp(org: org) } else { try await model.catchUpAll() }
        var binds = PostgresBindings()
        binds.append(org)
        return try await model.rows("list agents", "SELECT \(Self.agentColumns) FROM {schema}.agents WHERE $1::text IS NULL OR org = $1 ORDER BY org, agent_id",
                              binds, Self.record)
    }

    public func agent(org: String, agentId: String) async throws -> AgentRecord? {
        try await model.catchUp(org: org)
        return try await model.rows("read an agent", "SELECT \(Self.agentColumns) FROM {schema}.agents WHERE org = $1 AND agent_id = $2",
                              PostgresBindings.of(org, agentId), Self.record).first
    }

    public func history(org: String, agentId: String) async throws -> [AgentConfigVersion] {
        try await model.catchUp(org: org)
        return try await model.rows("read an agent's history", """
            SELECT seq, revision, config, actor, configured_at FROM {schema}.agent_config_history WHERE org = $1 AND agent_id = $2 ORDER BY seq
            """, PostgresBindings.of(org, agentId)) { c in
            AgentConfigVersion(seq: UInt64(try c[0].decode(Int64.self)), revision: Int(try c[1].decode(Int64.self)),
                               config: try Self.config(try c[2].decode(String.self)), actor: try c[3].decode(String.self),
                               configuredAt: try c[4].decode(String.self))
        }
    }

    public func routingTable() async throws -> RoutingTable {
        try await model.catchUpAll()
        let routes = try await model.rows("read the routing table", "SELECT org, agent_id, channel, address FROM {schema}.routes ORDER BY seq, org, agent_id",
                                    PostgresBindings()) { c in
            (try c[0].decode(String.self), try c[1].decode(String.self), try c[2].decode(String.self), try c[3].decode(String.self))
        }
        var table: RoutingTable = [:]
        for (org, agent, channel, address) in routes {
            guard let channel = Channel(rawValue: channel) else { continue }
            table[ChannelAddress(channel: channel, address: address)] = AgentRef(org: org, agentId: agent)
        }
        return table
    }
}
