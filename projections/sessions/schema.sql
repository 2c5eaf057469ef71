-- The sessions read model: each conversation's state and its transcript.

CREATE TABLE sessions (
    org TEXT NOT NULL,
    session_id TEXT NOT NULL,
    agent_id TEXT,
    channel TEXT,
    external_contact TEXT,
    crm_contact TEXT,
    status TEXT NOT NULL,
    handed_off_to TEXT,
    handoff_reason TEXT,
    internal INTEGER NOT NULL DEFAULT 0,
    opened_at TEXT,
    last_message_at TEXT,
    closed_at TEXT,
    message_count INTEGER NOT NULL DEFAULT 0,
    tokens_used INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    updated_seq INTEGER NOT NULL,
    PRIMARY KEY (org, session_id)
) WITHOUT ROWID;

-- Neither index holds a column that every message changes (last_message_at, counts), so the
-- hot updates touch the table's row only.
CREATE INDEX sessions_by_status ON sessions (org, status);
CREATE INDEX sessions_by_contact ON sessions (org, channel, external_contact);

-- direction: 'inbound' (the customer) or 'outbound' (the agent or a human, see actor_kind).
-- Rows are keyed by org and the event's position (`seq`: global on the embedded log, each org's
-- own on PostgreSQL); the rowid stays implicit, so a rebuild appends at the end of the table
-- instead of inserting all over it, and reads go through the org-first index.
CREATE TABLE transcript (
    org TEXT NOT NULL,
    seq INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    text TEXT NOT NULL,
    ts TEXT NOT NULL
);

CREATE UNIQUE INDEX transcript_by_position ON transcript (org, seq);
CREATE INDEX transcript_by_session ON transcript (org, session_id, seq);

-- Webchat visitors: the SHA-256 of each visitor token the server issued (never the token), from
-- the visitor's first message.received. A later message proves its visitor by the token.
CREATE TABLE webchat_visitors (
    token_hash TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    org_address TEXT NOT NULL,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
