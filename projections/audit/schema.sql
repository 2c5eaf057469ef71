-- The audit read model: an activity log a person can read, every tool call with its arguments,
-- result, duration and outcome, and every approval with its state and who decided.

-- Keyed by org and position: a position (`seq`) is global on the embedded log but each org's
-- own on PostgreSQL, where every org counts 1, 2, 3, …. The rowid stays implicit, so a rebuild
-- still appends at the end of the table.
CREATE TABLE activity (
    org TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts TEXT NOT NULL,
    agent_id TEXT,
    session_id TEXT,
    kind TEXT NOT NULL,
    line TEXT NOT NULL
);

CREATE UNIQUE INDEX activity_by_org ON activity (org, seq);

-- outcome: 'requested', 'executed', 'failed', 'denied', 'pending_approval'.
CREATE TABLE tool_calls (
    org TEXT NOT NULL,
    call_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT,
    tool TEXT NOT NULL,
    category TEXT,
    arguments TEXT,
    result TEXT,
    error TEXT,
    rule TEXT,
    duration_ms REAL,
    outcome TEXT NOT NULL,
    approval_id TEXT,
    requested_seq INTEGER,
    finished_seq INTEGER,
    ts TEXT NOT NULL,
    PRIMARY KEY (org, call_id)
) WITHOUT ROWID;

CREATE INDEX tool_calls_by_session ON tool_calls (org, session_id);

-- state: 'pending', 'granted', 'rejected', 'expired'.
CREATE TABLE approvals (
    org TEXT NOT NULL,
    approval_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT,
    kind TEXT NOT NULL,
    call_id TEXT,
    tool TEXT,
    arguments TEXT,
    reply_text TEXT,
    message_id TEXT,
    category TEXT,
    rule TEXT NOT NULL,
    summary TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_seq INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT,
    edited INTEGER NOT NULL DEFAULT 0,
    edit TEXT,
    PRIMARY KEY (org, approval_id)
) WITHOUT ROWID;

CREATE INDEX approvals_by_state ON approvals (org, state, requested_seq);
