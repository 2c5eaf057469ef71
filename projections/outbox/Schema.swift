// Generated from schema.sql by scripts/embed-schema.sh; edit schema.sql and rerun it.
enum Schema {
    /// The contents of projections/outbox/schema.sql.
    static let sql = #"""
        -- The outbox read model: outbound messages not yet delivered. A sent message waits here until
        -- its message.delivered (delivered or read) removes it; a failed delivery stays, marked failed;
        -- a draft stays until it is sent.

        -- state: 'drafted', 'pending', 'failed'.
        CREATE TABLE outbox (
            org TEXT NOT NULL,
            message_id TEXT NOT NULL,
            state TEXT NOT NULL,
            agent_id TEXT,
            session_id TEXT,
            channel TEXT NOT NULL,
            from_address TEXT,
            to_address TEXT NOT NULL,
            text TEXT NOT NULL,
            subject TEXT,
            in_reply_to TEXT,
            approval_id TEXT,
            error TEXT,
            seq INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (org, message_id)
        ) WITHOUT ROWID;

        CREATE INDEX outbox_by_state ON outbox (state, seq);

        -- The channel's id of each delivered message (a connector's `outbox ack --external-id`), so a
        -- later status from the channel (WhatsApp "read") finds the message it is about.
        CREATE TABLE external_ids (
            channel TEXT NOT NULL,
            external_id TEXT NOT NULL,
            org TEXT NOT NULL,
            message_id TEXT NOT NULL,
            PRIMARY KEY (channel, external_id)
        ) WITHOUT ROWID;
        """#
}
