/// The store's schema, as numbered migrations. Each runs once, in its own transaction, under an
/// advisory lock so that nodes starting together never apply one twice; `purser_migrations`
/// records what ran. Never edit a migration that has shipped: add the next one.
///
/// Every key leads with org, so the tables can be distributed by org (with Citus:
/// `SELECT create_distributed_table('purser_events', 'org')`, the same for every table keyed by
/// org) without a change to the code: no statement of Purser's touches two orgs' rows.
enum Migrations {
    struct Migration: Sendable {
        var version: Int
        var name: String
        var statements: [String]
    }

    static let all: [Migration] = [
        Migration(version: 1, name: "events", statements: [
            #"""
            CREATE TABLE purser_org_heads (
                org   text   PRIMARY KEY,
                seq   bigint NOT NULL DEFAULT 0,
                hash  bytea  NOT NULL DEFAULT '\x'::bytea
            );
            """#,
            #"""
            CREATE TABLE purser_events (
                org            text   NOT NULL,
                seq            bigint NOT NULL,
                id             text   NOT NULL,
                stream         text   NOT NULL,
                stream_version integer NOT NULL,
                type           text   NOT NULL,
                ts_ms          bigint NOT NULL,
                -- The producer's envelope exactly as encoded, without the leading `{"seq":N,` that readers
                -- are given in front of it (the same bytes an embedded segment holds).
                body           text   NOT NULL,
                -- sha256(previous hash || seq as 8 big-endian bytes || body): edits, deletions and
                -- insertions made behind Purser's back break the chain at the row they touch.
                hash           bytea  NOT NULL,
                PRIMARY KEY (org, seq)
            );
            """#,
            #"""
            CREATE UNIQUE INDEX purser_events_id ON purser_events (org, id);
            """#,
            #"""
            CREATE UNIQUE INDEX purser_events_stream ON purser_events (org, stream, stream_version);
            """#,
            #"""
            CREATE INDEX purser_events_type ON purser_events (org, type, seq);
            """#,
            #"""
            CREATE FUNCTION purser_append(
                p_org text, p_ids text[], p_streams text[], p_types text[], p_ts bigint[], p_bodies text[],
                p_expect_streams text[], p_expect_versions integer[]
            ) RETURNS TABLE (out_seq bigint, out_duplicate boolean)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_seq     bigint;
                v_hash    bytea;
                v_n       integer := coalesce(array_length(p_ids, 1), 0);
                v_seqs    bigint[] := array_fill(0::bigint, ARRAY[greatest(v_n, 1)]);
                v_dup     boolean[] := array_fill(false, ARRAY[greatest(v_n, 1)]);
                v_new     integer := 0;
                v_found   bigint;
                v_version integer;
                i         integer;
                j         integer;
            BEGIN
                INSERT INTO purser_org_heads (org) VALUES (p_org) ON CONFLICT (org) DO NOTHING;
                SELECT h.seq, h.hash INTO v_seq, v_hash FROM purser_org_heads h WHERE h.org = p_org FOR UPDATE;

                -- Ids stored before, and repeats within this append.
                FOR i IN 1 .. v_n LOOP
                    SELECT e.seq INTO v_found FROM purser_events e WHERE e.org = p_org AND e.id = p_ids[i];
                    IF FOUND THEN
                        v_seqs[i] := v_found;
                        v_dup[i] := true;
                    ELSE
                        FOR j IN 1 .. i - 1 LOOP
                            IF p_ids[j] = p_ids[i] THEN v_seqs[i] := -j; v_dup[i] := true; EXIT; END IF;
                        END LOOP;
                        IF NOT v_dup[i] THEN v_new := v_new + 1; END IF;
                    END IF;
                END LOOP;

                IF v_new > 0 THEN
                    FOR i IN 1 .. coalesce(array_length(p_expect_streams, 1), 0) LOOP
                        SELECT coalesce(max(e.stream_version), 0) INTO v_version
                          FROM purser_events e WHERE e.org = p_org AND e.stream = p_expect_streams[i];
                        IF v_version <> p_expect_versions[i] THEN
                            RAISE EXCEPTION 'stream % of org % is at version %, not %; reload it and retry',
                                p_expect_streams[i], p_org, v_version, p_expect_versions[i]
                                USING ERRCODE = 'PX409';
                        END IF;
                    END LOOP;
                    FOR i IN 1 .. v_n LOOP
                        IF NOT v_dup[i] THEN
                            v_seq := v_seq + 1;
                            SELECT coalesce(max(e.stream_version), 0) + 1 INTO v_version
                              FROM purser_events e WHERE e.org = p_org AND e.stream = p_streams[i];
                            v_hash := sha256(v_hash || int8send(v_seq) || convert_to(p_bodies[i], 'UTF8'));
                            INSERT INTO purser_events (org, seq, id, stream, stream_version, type, ts_ms, body, hash)
                                 VALUES (p_org, v_seq, p_ids[i], p_streams[i], v_version, p_types[i], p_ts[i], p_bodies[i], v_hash);
                            v_seqs[i] := v_seq;
                        END IF;
                    END LOOP;
                    UPDATE purser_org_heads SET seq = v_seq, hash = v_hash WHERE org = p_org;
                END IF;

                FOR i IN 1 .. v_n LOOP
                    IF v_seqs[i] < 0 THEN v_seqs[i] := v_seqs[-v_seqs[i]]; END IF;
                    out_seq := v_seqs[i];
                    out_duplicate := v_dup[i];
                    RETURN NEXT;
                END LOOP;
            END
            $$;
            """#,
        ]),
        // Small named documents (the access tokens, each org's sealed credentials) that every
        // node shares: `PostgresDocumentStore`. Versions come from one sequence, so a document
        // deleted and created again never reuses a version a writer may still hold.
        Migration(version: 2, name: "documents", statements: [
            #"""
            CREATE SEQUENCE purser_document_versions;
            """#,
            #"""
            CREATE TABLE purser_documents (
                name       text        PRIMARY KEY,
                bytes      bytea       NOT NULL,
                version    bigint      NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            """#,
        ]),
    ]

    /// The newest version this build knows.
    static var latest: Int { all.map(\.version).max() ?? 0 }
}
