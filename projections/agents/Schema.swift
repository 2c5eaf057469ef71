// Generated from schema.sql by scripts/embed-schema.sh; edit schema.sql and rerun it.
enum Schema {
    /// The contents of projections/agents/schema.sql.
    static let sql = #"""
        -- The agents read model: the config in force per org and agent, every config version applied,
        -- status changes, and the routing table from channel address to org and agent.

        CREATE TABLE agents (
            org TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            config TEXT NOT NULL,
            configured_seq INTEGER NOT NULL,
            configured_at TEXT NOT NULL,
            updated_seq INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (org, agent_id)
        ) WITHOUT ROWID;

        CREATE TABLE agent_config_history (
            org TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            config TEXT NOT NULL,
            actor TEXT NOT NULL,
            configured_at TEXT NOT NULL,
            PRIMARY KEY (org, agent_id, seq)
        ) WITHOUT ROWID;

        CREATE TABLE agent_status_history (
            org TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            from_status TEXT NOT NULL,
            to_status TEXT NOT NULL,
            reason TEXT,
            actor TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            PRIMARY KEY (org, agent_id, seq)
        ) WITHOUT ROWID;

        -- One row per enabled binding of each agent's config in force. An address is meant to be
        -- bound once (config validation refuses a second claim); should the log hold two claims, the
        -- later one (higher seq) routes.
        CREATE TABLE routes (
            org TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (org, agent_id, channel, address)
        ) WITHOUT ROWID;

        CREATE INDEX routes_by_address ON routes (channel, address, seq);
        """#
}
