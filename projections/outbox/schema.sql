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
-- later status from the channel (WhatsApp "read") finds the message it is about. Keyed by org
-- first: one org's acknowledgement never replaces another org's entry for the same id.
CREATE TABLE external_ids (
    org TEXT NOT NULL,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (org, channel, external_id)
) WITHOUT ROWID;

CREATE INDEX external_ids_by_id ON external_ids (channel, external_id, seq);
