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
        // Set-based appends and group commit. `purser_append_range` numbers, chains and inserts
        // the events at positions lo…hi of its arrays, of any number of orgs, with a fixed number
        // of statements (ids, stream versions and heads looked up for the whole range, one
        // INSERT, one UPDATE of the heads) instead of three statements per event and a call per
        // org. `purser_append_calls` runs several callers' appends in one statement and one
        // commit (the client's group commit): every head row is locked first, in org order, so
        // concurrent batches never deadlock; the callers without expectations (which cannot
        // conflict) go through one range together, and a caller with expectations has them
        // checked just before its own events are written, so a stale one refuses that caller alone
        // (its rows answer with the conflict) while the others are stored. `purser_append` keeps
        // its signature on the same core, for nodes of an earlier build.
        Migration(version: 3, name: "set-based append and group commit", statements: [
            #"""
            CREATE FUNCTION purser_append_range(
                p_orgs text[], p_ids text[], p_streams text[], p_types text[], p_ts bigint[], p_bodies text[],
                p_lo integer, p_hi integer
            ) RETURNS TABLE (out_pos integer, out_seq bigint, out_duplicate boolean)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_n          integer := p_hi - p_lo + 1;
                v_seqs       bigint[];
                v_dup        boolean[];
                v_first      integer[];
                v_new_org    text[] := '{}';
                v_new_id     text[] := '{}';
                v_new_stream text[] := '{}';
                v_new_type   text[] := '{}';
                v_new_ts     bigint[] := '{}';
                v_new_body   text[] := '{}';
                v_new_seq    bigint[] := '{}';
                v_new_ver    integer[] := '{}';
                v_new_hash   bytea[] := '{}';
                v_head_org   text[] := '{}';
                v_head_seq   bigint[] := '{}';
                v_head_hash  bytea[] := '{}';
                v_org        text := NULL;
                v_org_new    boolean := false;
                v_seq        bigint;
                v_hash       bytea;
                r            record;
                i            integer := 0;
                k            integer := 0;
            BEGIN
                IF v_n <= 0 THEN RETURN; END IF;
                -- The head rows, created if new and locked in org order (purser_append_calls holds
                -- them already; taking them again is free and keeps this function safe alone).
                INSERT INTO purser_org_heads (org)
                SELECT DISTINCT u.org FROM unnest(p_orgs[p_lo:p_hi]) AS u(org) ORDER BY u.org
                ON CONFLICT (org) DO NOTHING;
                PERFORM 1 FROM purser_org_heads h WHERE h.org = ANY (p_orgs[p_lo:p_hi]) ORDER BY h.org FOR UPDATE;

                v_seqs := array_fill(0::bigint, ARRAY[v_n]);
                v_dup := array_fill(false, ARRAY[v_n]);
                v_first := array_fill(0, ARRAY[v_n]);
                -- Each event: whether its id is stored already (its seq) or repeats an earlier one
                -- of the range (the first's position), else its stream version; by org, in order.
                -- One statement for the whole range, and no join between the arrays (the planner
                -- cannot see their lengths and might pair them row by row): each event's first
                -- position with its id, its stored seq (one probe of (org, id)), and its stream
                -- version (one probe of (org, stream) per stream), by windows.
                FOR r IN
                    WITH ev AS (
                        SELECT t.pos::integer AS pos, t.org, t.id, t.stream, t.type, t.ts, t.body,
                               (min(t.pos) OVER (PARTITION BY t.org, t.id))::integer AS first,
                               (SELECT e.seq FROM purser_events e WHERE e.org = t.org AND e.id = t.id) AS stored
                          FROM unnest(p_orgs[p_lo:p_hi], p_ids[p_lo:p_hi], p_streams[p_lo:p_hi], p_types[p_lo:p_hi],
                                      p_ts[p_lo:p_hi], p_bodies[p_lo:p_hi]) WITH ORDINALITY AS t(org, id, stream, type, ts, body, pos)
                    ),
                    ranked AS (
                        SELECT ev.*, (ev.stored IS NULL AND ev.first = ev.pos) AS is_new,
                               row_number() OVER (PARTITION BY ev.org, ev.stream, (ev.stored IS NULL AND ev.first = ev.pos) ORDER BY ev.pos) AS rn
                          FROM ev
                    ),
                    based AS (
                        SELECT ranked.*,
                               CASE WHEN ranked.is_new AND ranked.rn = 1 THEN
                                   (SELECT coalesce(max(x.stream_version), 0) FROM purser_events x WHERE x.org = ranked.org AND x.stream = ranked.stream)
                               END AS base
                          FROM ranked
                    )
                    SELECT b.pos, b.org, b.id, b.stream, b.type, b.ts, b.body, b.first, b.stored, b.is_new,
                           (max(b.base) OVER (PARTITION BY b.org, b.stream, b.is_new) + b.rn)::integer AS version
                      FROM based b
                     ORDER BY b.org, b.pos
                LOOP
                    IF v_org IS DISTINCT FROM r.org THEN
                        IF v_org_new THEN
                            k := k + 1; v_head_org[k] := v_org; v_head_seq[k] := v_seq; v_head_hash[k] := v_hash;
                        END IF;
                        v_org := r.org; v_org_new := false;
                        SELECT h.seq, h.hash INTO v_seq, v_hash FROM purser_org_heads h WHERE h.org = r.org;
                    END IF;
                    v_first[r.pos] := r.first;
                    IF r.is_new THEN
                        v_seq := v_seq + 1;
                        v_hash := sha256(v_hash || int8send(v_seq) || convert_to(r.body, 'UTF8'));
                        i := i + 1;
                        v_new_org[i] := r.org; v_new_id[i] := r.id; v_new_stream[i] := r.stream; v_new_type[i] := r.type;
                        v_new_ts[i] := r.ts; v_new_body[i] := r.body;
                        v_new_seq[i] := v_seq; v_new_ver[i] := r.version; v_new_hash[i] := v_hash;
                        v_seqs[r.pos] := v_seq;
                        v_org_new := true;
                    ELSE
                        v_dup[r.pos] := true;
                        IF r.stored IS NOT NULL THEN v_seqs[r.pos] := r.stored; END IF;
                    END IF;
                END LOOP;
                IF v_org_new THEN
                    k := k + 1; v_head_org[k] := v_org; v_head_seq[k] := v_seq; v_head_hash[k] := v_hash;
                END IF;

                IF i > 0 THEN
                    INSERT INTO purser_events (org, seq, id, stream, stream_version, type, ts_ms, body, hash)
                    SELECT * FROM unnest(v_new_org, v_new_seq, v_new_id, v_new_stream, v_new_ver, v_new_type, v_new_ts, v_new_body, v_new_hash);
                    UPDATE purser_org_heads h SET seq = u.seq, hash = u.hash
                      FROM unnest(v_head_org, v_head_seq, v_head_hash) AS u(org, seq, hash)
                     WHERE h.org = u.org;
                END IF;

                -- A repeat within the range answers its first's seq.
                FOR i IN 1 .. v_n LOOP
                    IF v_seqs[i] = 0 THEN v_seqs[i] := v_seqs[v_first[i]]; END IF;
                END LOOP;
                RETURN QUERY SELECT (p_lo - 1 + t.pos)::integer, t.seq, t.dup FROM unnest(v_seqs, v_dup) WITH ORDINALITY AS t(seq, dup, pos);
            END
            $$;
            """#,
            #"""
            CREATE FUNCTION purser_stale_expectation(
                p_orgs text[], p_ids text[], p_lo integer, p_hi integer,
                p_expect_orgs text[], p_expect_streams text[], p_expect_versions integer[], p_xlo integer, p_xhi integer
            ) RETURNS text
            LANGUAGE plpgsql AS $$
            DECLARE
                v_bad record;
            BEGIN
                -- Expectations count only when the caller stores something new (as on the
                -- embedded log: an append of nothing but duplicates is answered as stored).
                IF p_xhi < p_xlo OR NOT EXISTS (
                    SELECT 1 FROM unnest(p_orgs[p_lo:p_hi], p_ids[p_lo:p_hi]) AS t(org, id)
                     WHERE (SELECT e.seq FROM purser_events e WHERE e.org = t.org AND e.id = t.id) IS NULL) THEN
                    RETURN NULL;
                END IF;
                SELECT x.org, x.s, x.want, x.have INTO v_bad FROM (
                    SELECT u.org, u.s, u.want, (SELECT coalesce(max(e.stream_version), 0) FROM purser_events e
                                                 WHERE e.org = u.org AND e.stream = u.s) AS have
                      FROM unnest(p_expect_orgs[p_xlo:p_xhi], p_expect_streams[p_xlo:p_xhi], p_expect_versions[p_xlo:p_xhi]) AS u(org, s, want)) x
                 WHERE x.have <> x.want LIMIT 1;
                IF NOT FOUND THEN RETURN NULL; END IF;
                RETURN format('stream %s of org %s is at version %s, not %s; reload it and retry', v_bad.s, v_bad.org, v_bad.have, v_bad.want);
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
                v_n        integer := coalesce(array_length(p_ids, 1), 0);
                v_x        integer := coalesce(array_length(p_expect_streams, 1), 0);
                v_orgs     text[] := array_fill(p_org, ARRAY[greatest(v_n, 1)]);
                v_conflict text;
            BEGIN
                INSERT INTO purser_org_heads (org) VALUES (p_org) ON CONFLICT (org) DO NOTHING;
                PERFORM 1 FROM purser_org_heads h WHERE h.org = p_org FOR UPDATE;
                v_conflict := purser_stale_expectation(v_orgs, p_ids, 1, v_n, array_fill(p_org, ARRAY[greatest(v_x, 1)]),
                                                       p_expect_streams, p_expect_versions, 1, v_x);
                IF v_conflict IS NOT NULL THEN
                    RAISE EXCEPTION '%', v_conflict USING ERRCODE = 'PX409';
                END IF;
                RETURN QUERY SELECT r.out_seq, r.out_duplicate
                               FROM purser_append_range(v_orgs, p_ids, p_streams, p_types, p_ts, p_bodies, 1, v_n) r ORDER BY r.out_pos;
            END
            $$;
            """#,
            #"""
            CREATE FUNCTION purser_append_calls(
                p_orgs text[], p_ids text[], p_streams text[], p_types text[], p_ts bigint[], p_bodies text[],
                p_call_starts integer[], p_call_ends integer[], p_call_expect_starts integer[], p_call_expect_ends integer[],
                p_expect_orgs text[], p_expect_streams text[], p_expect_versions integer[]
            ) RETURNS TABLE (out_pos integer, out_seq bigint, out_duplicate boolean, out_conflict text)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_calls    integer := coalesce(array_length(p_call_starts, 1), 0);
                v_n        integer := coalesce(array_length(p_ids, 1), 0);
                v_run      integer := 1;
                v_conflict text;
                c          integer;
            BEGIN
                -- Every head this batch writes or checks, created if new and locked, in org order.
                INSERT INTO purser_org_heads (org)
                SELECT DISTINCT u.org FROM unnest(p_orgs || p_expect_orgs) AS u(org) ORDER BY u.org
                ON CONFLICT (org) DO NOTHING;
                PERFORM 1 FROM purser_org_heads h WHERE h.org = ANY (p_orgs || p_expect_orgs) ORDER BY h.org FOR UPDATE;

                FOR c IN 1 .. v_calls LOOP
                    CONTINUE WHEN p_call_expect_ends[c] < p_call_expect_starts[c];
                    -- The callers before this one, none with expectations: one range.
                    RETURN QUERY SELECT r.*, NULL::text
                                   FROM purser_append_range(p_orgs, p_ids, p_streams, p_types, p_ts, p_bodies, v_run, p_call_starts[c] - 1) r;
                    v_conflict := purser_stale_expectation(p_orgs, p_ids, p_call_starts[c], p_call_ends[c], p_expect_orgs, p_expect_streams,
                                                           p_expect_versions, p_call_expect_starts[c], p_call_expect_ends[c]);
                    IF v_conflict IS NOT NULL THEN
                        RETURN QUERY SELECT g::integer, NULL::bigint, NULL::boolean, v_conflict FROM generate_series(p_call_starts[c], p_call_ends[c]) g;
                    ELSE
                        RETURN QUERY SELECT r.*, NULL::text
                                       FROM purser_append_range(p_orgs, p_ids, p_streams, p_types, p_ts, p_bodies, p_call_starts[c], p_call_ends[c]) r;
                    END IF;
                    v_run := p_call_ends[c] + 1;
                END LOOP;
                RETURN QUERY SELECT r.*, NULL::text FROM purser_append_range(p_orgs, p_ids, p_streams, p_types, p_ts, p_bodies, v_run, v_n) r;
            END
            $$;
            """#,
        ]),
        // Read models kept in PostgreSQL (docs/POSTGRES.md, "Read models"): which schema holds
        // each model's live rows. A model is built into a schema of its own and becomes live when
        // this row names it, in the same transaction that drops the schema it replaces.
        Migration(version: 4, name: "read models", statements: [
            """
            CREATE TABLE purser_read_models (
                name        text        PRIMARY KEY,
                version     integer     NOT NULL,
                generation  integer     NOT NULL,
                schema_name text        NOT NULL,
                built_at    timestamptz NOT NULL DEFAULT now()
            )
            """,
        ]),
    ]

    /// The newest version this build knows.
    static var latest: Int { all.map(\.version).max() ?? 0 }
}
