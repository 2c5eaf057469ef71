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
        // Set-based appends and group commit. `purser_append_rows` numbers, chains and inserts one
        // org's events with a fixed number of statements instead of three per event (ids and
        // stream versions looked up for the whole batch); `purser_append` keeps its signature on
        // it, for nodes of an earlier build. `purser_append_calls` runs several callers' appends
        // in one statement and one commit (the client's group commit): every head row is locked
        // first, in org order, so concurrent batches never deadlock, and each caller's
        // expectations are checked just before its events are written, so a stale one refuses that
        // caller alone (its rows answer with the conflict) and the others are stored.
        Migration(version: 3, name: "set-based append and group commit", statements: [
            #"""
            CREATE FUNCTION purser_append_rows(
                p_org text, p_ids text[], p_streams text[], p_types text[], p_ts bigint[], p_bodies text[]
            ) RETURNS TABLE (out_seq bigint, out_duplicate boolean)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_seq    bigint;
                v_hash   bytea;
                v_n      integer := coalesce(array_length(p_ids, 1), 0);
                v_stored bigint[];
                v_first  integer[];
                v_seqs   bigint[];
                v_dup    boolean[];
                v_new    integer[] := '{}';
                v_nseqs  bigint[] := '{}';
                v_hashes bytea[] := '{}';
                v_vers   integer[];
                r        record;
                i        integer;
            BEGIN
                IF v_n = 0 THEN RETURN; END IF;
                -- The caller holds the head row lock (purser_append_calls locks every head first);
                -- taking it again is free and keeps this function safe on its own.
                INSERT INTO purser_org_heads (org) VALUES (p_org) ON CONFLICT (org) DO NOTHING;
                SELECT h.seq, h.hash INTO v_seq, v_hash FROM purser_org_heads h WHERE h.org = p_org FOR UPDATE;

                -- Each event's seq when its id is stored already (else 0), and the first position
                -- in this append of its id (a repeat within the append is a duplicate of the first).
                SELECT array_agg(coalesce(e.seq, 0) ORDER BY t.ord), array_agg(f.first ORDER BY t.ord)
                  INTO v_stored, v_first
                  FROM unnest(p_ids) WITH ORDINALITY AS t(id, ord)
                  JOIN (SELECT u.id, min(u.ord)::integer AS first FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord) GROUP BY u.id) f
                    ON f.id = t.id
                  LEFT JOIN purser_events e ON e.org = p_org AND e.id = t.id;

                v_seqs := array_fill(0::bigint, ARRAY[v_n]);
                v_dup := array_fill(false, ARRAY[v_n]);
                FOR i IN 1 .. v_n LOOP
                    IF v_stored[i] > 0 THEN
                        v_seqs[i] := v_stored[i];
                        v_dup[i] := true;
                    ELSIF v_first[i] < i THEN
                        v_dup[i] := true;
                    ELSE
                        v_new := v_new || i;
                    END IF;
                END LOOP;

                IF array_length(v_new, 1) > 0 THEN
                    -- Each new event's stream version: its stream's version before, plus its rank
                    -- among this append's new events of that stream.
                    SELECT array_agg(x.v ORDER BY x.k) INTO v_vers FROM (
                        SELECT n.k, (b.base + row_number() OVER (PARTITION BY n.s ORDER BY n.k))::integer AS v
                          FROM (SELECT q.k, p_streams[q.pos] AS s FROM unnest(v_new) WITH ORDINALITY AS q(pos, k)) n
                          JOIN (SELECT d.s, (SELECT coalesce(max(e.stream_version), 0) FROM purser_events e
                                              WHERE e.org = p_org AND e.stream = d.s) AS base
                                  FROM (SELECT DISTINCT p_streams[pos] AS s FROM unnest(v_new) AS r(pos)) d) b
                            ON b.s = n.s) x;
                    -- The chain, in seq order.
                    i := 0;
                    FOR r IN SELECT q.pos, a.body FROM unnest(v_new) AS q(pos)
                               JOIN unnest(p_bodies) WITH ORDINALITY AS a(body, pos) ON a.pos = q.pos ORDER BY q.pos LOOP
                        i := i + 1;
                        v_seq := v_seq + 1;
                        v_hash := sha256(v_hash || int8send(v_seq) || convert_to(r.body, 'UTF8'));
                        v_seqs[r.pos] := v_seq;
                        v_nseqs[i] := v_seq;
                        v_hashes[i] := v_hash;
                    END LOOP;
                    INSERT INTO purser_events (org, seq, id, stream, stream_version, type, ts_ms, body, hash)
                    SELECT p_org, s.seq, a.id, a.stream, s.ver, a.type, a.ts, a.body, s.hash
                      FROM unnest(v_new, v_nseqs, v_vers, v_hashes) AS s(pos, seq, ver, hash)
                      JOIN unnest(p_ids, p_streams, p_types, p_ts, p_bodies) WITH ORDINALITY AS a(id, stream, type, ts, body, pos)
                        ON a.pos = s.pos
                     ORDER BY s.seq;
                    UPDATE purser_org_heads SET seq = v_seq, hash = v_hash WHERE org = p_org;
                END IF;

                FOR i IN 1 .. v_n LOOP
                    IF v_seqs[i] = 0 THEN v_seqs[i] := v_seqs[v_first[i]]; END IF;
                END LOOP;
                RETURN QUERY SELECT * FROM unnest(v_seqs, v_dup);
            END
            $$;
            """#,
            #"""
            CREATE OR REPLACE FUNCTION purser_append(
                p_org text, p_ids text[], p_streams text[], p_types text[], p_ts bigint[], p_bodies text[],
                p_expect_streams text[], p_expect_versions integer[]
            ) RETURNS TABLE (out_seq bigint, out_duplicate boolean)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_bad record;
            BEGIN
                INSERT INTO purser_org_heads (org) VALUES (p_org) ON CONFLICT (org) DO NOTHING;
                PERFORM 1 FROM purser_org_heads h WHERE h.org = p_org FOR UPDATE;
                IF coalesce(array_length(p_expect_streams, 1), 0) > 0
                   AND EXISTS (SELECT 1 FROM unnest(p_ids) AS t(id)
                                WHERE NOT EXISTS (SELECT 1 FROM purser_events e WHERE e.org = p_org AND e.id = t.id)) THEN
                    SELECT x.s, x.want, x.have INTO v_bad FROM (
                        SELECT u.s, u.want, (SELECT coalesce(max(e.stream_version), 0) FROM purser_events e
                                              WHERE e.org = p_org AND e.stream = u.s) AS have
                          FROM unnest(p_expect_streams, p_expect_versions) AS u(s, want)) x
                     WHERE x.have <> x.want LIMIT 1;
                    IF FOUND THEN
                        RAISE EXCEPTION 'stream % of org % is at version %, not %; reload it and retry', v_bad.s, p_org, v_bad.have, v_bad.want
                            USING ERRCODE = 'PX409';
                    END IF;
                END IF;
                RETURN QUERY SELECT * FROM purser_append_rows(p_org, p_ids, p_streams, p_types, p_ts, p_bodies);
            END
            $$;
            """#,
            #"""
            CREATE FUNCTION purser_append_calls(
                p_orgs text[], p_ids text[], p_streams text[], p_types text[], p_ts bigint[], p_bodies text[],
                p_group_starts integer[], p_group_ends integer[],
                p_call_group_starts integer[], p_call_group_ends integer[], p_call_expect_starts integer[], p_call_expect_ends integer[],
                p_expect_orgs text[], p_expect_streams text[], p_expect_versions integer[]
            ) RETURNS TABLE (out_call integer, out_seq bigint, out_duplicate boolean, out_conflict text)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_calls    integer := coalesce(array_length(p_call_group_starts, 1), 0);
                v_conflict text;
                v_has_new  boolean;
                v_bad      record;
                c          integer;
                g          integer;
                x          integer;
                lo         integer;
                hi         integer;
                o          text;
            BEGIN
                -- Every head this batch writes, created if new and locked, in org order.
                INSERT INTO purser_org_heads (org)
                SELECT DISTINCT u.org FROM unnest(p_orgs || p_expect_orgs) AS u(org) ORDER BY u.org
                ON CONFLICT (org) DO NOTHING;
                PERFORM 1 FROM purser_org_heads h WHERE h.org = ANY (p_orgs || p_expect_orgs) ORDER BY h.org FOR UPDATE;

                FOR c IN 1 .. v_calls LOOP
                    v_conflict := NULL;
                    -- Expectations count only when the caller stores something new (as on the
                    -- embedded log: an append of nothing but duplicates is answered as stored).
                    IF p_call_expect_ends[c] >= p_call_expect_starts[c] THEN
                        v_has_new := false;
                        FOR g IN p_call_group_starts[c] .. p_call_group_ends[c] LOOP
                            lo := p_group_starts[g]; hi := p_group_ends[g]; o := p_orgs[lo];
                            IF EXISTS (SELECT 1 FROM unnest(p_ids[lo:hi]) AS t(id)
                                        WHERE NOT EXISTS (SELECT 1 FROM purser_events e WHERE e.org = o AND e.id = t.id)) THEN
                                v_has_new := true;
                                EXIT;
                            END IF;
                        END LOOP;
                        IF v_has_new THEN
                            FOR x IN p_call_expect_starts[c] .. p_call_expect_ends[c] LOOP
                                SELECT p_expect_streams[x] AS s, p_expect_versions[x] AS want,
                                       (SELECT coalesce(max(e.stream_version), 0) FROM purser_events e
                                         WHERE e.org = p_expect_orgs[x] AND e.stream = p_expect_streams[x]) AS have
                                  INTO v_bad;
                                IF v_bad.have <> v_bad.want THEN
                                    v_conflict := format('stream %s of org %s is at version %s, not %s; reload it and retry',
                                                         v_bad.s, p_expect_orgs[x], v_bad.have, v_bad.want);
                                    EXIT;
                                END IF;
                            END LOOP;
                        END IF;
                    END IF;
                    FOR g IN p_call_group_starts[c] .. p_call_group_ends[c] LOOP
                        lo := p_group_starts[g]; hi := p_group_ends[g];
                        IF v_conflict IS NOT NULL THEN
                            RETURN QUERY SELECT c, NULL::bigint, NULL::boolean, v_conflict FROM generate_series(lo, hi);
                        ELSE
                            RETURN QUERY SELECT c, r.out_seq, r.out_duplicate, NULL::text
                              FROM purser_append_rows(p_orgs[lo], p_ids[lo:hi], p_streams[lo:hi], p_types[lo:hi], p_ts[lo:hi], p_bodies[lo:hi]) r;
                        END IF;
                    END LOOP;
                END LOOP;
            END
            $$;
            """#,
        ]),
    ]

    /// The newest version this build knows.
    static var latest: Int { all.map(\.version).max() ?? 0 }
}
