-- The CRM read model: an org's ontology objects and links, and the identity lookup from a
-- normalized phone number or email address to contacts. Every key starts with the org, so the
-- same object id in two orgs names two rows.

CREATE TABLE objects (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    subtype TEXT,
    name TEXT,
    status TEXT,
    custom_properties TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL,
    PRIMARY KEY (org, id)
) WITHOUT ROWID;

CREATE INDEX objects_by_type ON objects (org, type, deleted);

CREATE TABLE links (
    org TEXT NOT NULL,
    from_id TEXT NOT NULL,
    link_type TEXT NOT NULL,
    to_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (org, from_id, link_type, to_id)
) WITHOUT ROWID;

CREATE INDEX links_by_target ON links (org, to_id, link_type);

-- kind is 'phone' (E.164) or 'email' (lowercased).
CREATE TABLE identities (
    org TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    object_id TEXT NOT NULL,
    PRIMARY KEY (org, kind, value, object_id)
) WITHOUT ROWID;

CREATE INDEX identities_by_object ON identities (org, object_id);
