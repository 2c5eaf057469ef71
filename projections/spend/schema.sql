-- The spend read model: per org, agent and UTC day, what was charged against the daily caps.

CREATE TABLE spend (
    org TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    day TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    usd REAL NOT NULL DEFAULT 0,
    charges INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org, agent_id, day)
) WITHOUT ROWID;
