import AuditProjection
import Logging
import PostgresNIO
import Projection
import PurserCore
import PurserDomain

/// The audit model in PostgreSQL: the activity log, every tool call and every approval, the same
/// rows as its SQLite twin (projections/audit), whose `AuditProjector.effects(of:)` decides what
/// each event writes and says; this projector only writes it, with the same statements, event
/// after event inside the catch-up's transaction (an approval's sentence reads the approval's row
/// as the batch has left it).
public struct PostgresAuditProjector: PostgresProjector {
    public init() {}

    public var name: String { AuditProjector.name }
    /// 1: first version (the SQLite model's version 2).
    public var schemaVersion: Int { 1 }
    public var eventTypes: Set<String> { AuditProjector().eventTypes }

    public var schemaStatements: [String] {
        [
            """
            CREATE TABLE {schema}.activity (
                org text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                ts text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C",
                session_id text COLLATE "C",
                kind text COLLATE "C" NOT NULL,
                line text NOT NULL,
                PRIMARY KEY (org, seq)
            )
            """,
            """
            CREATE TABLE {schema}.tool_calls (
                org text COLLATE "C" NOT NULL,
                call_id text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C" NOT NULL,
                session_id text COLLATE "C",
                tool text COLLATE "C" NOT NULL,
                category text COLLATE "C",
                arguments text,
                result text,
                error text,
                rule text COLLATE "C",
                duration_ms double precision,
                outcome text COLLATE "C" NOT NULL,
                approval_id text COLLATE "C",
                requested_seq bigint,
                finished_seq bigint,
                ts text COLLATE "C" NOT NULL,
                PRIMARY KEY (org, call_id)
            )
            """,
            "CREATE INDEX tool_calls_by_session ON {schema}.tool_calls (org, session_id)",
            """
            CREATE TABLE {schema}.approvals (
                org text COLLATE "C" NOT NULL,
                approval_id text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C" NOT NULL,
                session_id text COLLATE "C",
                kind text COLLATE "C" NOT NULL,
                call_id text COLLATE "C",
                tool text COLLATE "C",
                arguments text,
                reply_text text,
                message_id text COLLATE "C",
                category text COLLATE "C",
                rule text COLLATE "C" NOT NULL,
                summary text NOT NULL,
                state text COLLATE "C" NOT NULL,
                requested_seq bigint NOT NULL,
                requested_at text COLLATE "C" NOT NULL,
                expires_at text COLLATE "C" NOT NULL,
                decided_by text COLLATE "C",
                decided_at text COLLATE "C",
                reason text,
                edited boolean NOT NULL DEFAULT false,
                edit text,
                PRIMARY KEY (org, approval_id)
            )
            """,
            "CREATE INDEX approvals_by_state ON {schema}.approvals (org, state, requested_seq)",
        ]
    }

    /// The effects of one event, or why it cannot be read (synchronous, apart from the async
    /// `apply`: see `PostgresCRMProjector.change(of:)`).
    static func effects(of event: ProjectedEvent) -> Result<[AuditEffect], ProjectionError> {
        do {
            return .success(try AuditProjector.effects(of: event))
        } catch let error {
            return .failure(error)
        }
    }

    public func apply(_ events: [ProjectedEvent], org: String, schema s: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var skipped = 0
        for event in events {
            let effects: [AuditEffect]
            switch Self.effects(of: event) {
            case .success(let found): effects = found
            case .failure(let error):
                skipped += 1
                logger.warning("read model audit: skipped event #\(event.seq) of org \(org): \(error.message)")
                continue
            }
            for effect in effects { try await execute(effect, event, org: org, schema: s, on: connection, logger: logger) }
        }
        return skipped
    }

    private func run(_ sql: String, _ values: [(any PostgresDynamicTypeEncodable)?], on connection: PostgresConnection, logger: Logger) async throws {
        var binds = PostgresBindings()
        for value in values {
            if let value { binds.append(value) } else { binds.appendNull() }
        }
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    private func text(_ value: String?) -> String? { value.map(PostgresJSON.storable) }

    private func execute(_ effect: AuditEffect, _ event: ProjectedEvent, org: String, schema s: String, on connection: PostgresConnection,
                         logger: Logger) async throws {
        let seq = Int64(event.seq), at = event.timestampText
        switch effect {
        case .requested(let call, let agent, let session, let tool, let category, let arguments):
            try await run("""
                INSERT INTO \(s).tool_calls AS t (org, call_id, agent_id, session_id, tool, category, arguments, outcome, requested_seq, ts)
                VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', $8, $9)
                ON CONFLICT (org, call_id) DO UPDATE SET category = coalesce(excluded.category, t.category),
                    arguments = coalesce(t.arguments, excluded.arguments), requested_seq = excluded.requested_seq
                """, [org, text(call), text(agent), text(session), text(tool), text(category), text(arguments), seq, at], on: connection, logger: logger)
        case .finished(let f):
            try await run("""
                INSERT INTO \(s).tool_calls AS t (org, call_id, agent_id, session_id, tool, arguments, result, error, rule, duration_ms, outcome,
                    approval_id, finished_seq, ts)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                ON CONFLICT (org, call_id) DO UPDATE SET arguments = coalesce(excluded.arguments, t.arguments),
                    result = excluded.result, error = excluded.error, rule = excluded.rule, duration_ms = excluded.duration_ms,
                    outcome = excluded.outcome, approval_id = coalesce(excluded.approval_id, t.approval_id),
                    finished_seq = excluded.finished_seq
                """, [org, text(f.call), text(f.agent), text(f.session), text(f.tool), text(f.arguments), text(f.result), text(f.error),
                      text(f.rule), f.durationMs, f.outcome, text(f.approval), seq, at], on: connection, logger: logger)
        case .approvalRequested(let r):
            // SQLite's INSERT OR REPLACE: a second request of one approval starts its row afresh.
            try await run("""
                INSERT INTO \(s).approvals (org, approval_id, agent_id, session_id, kind, call_id, tool, arguments, reply_text,
                    message_id, category, rule, summary, state, requested_seq, requested_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', $14, $15, $16)
                ON CONFLICT (org, approval_id) DO UPDATE SET agent_id = excluded.agent_id, session_id = excluded.session_id,
                    kind = excluded.kind, call_id = excluded.call_id, tool = excluded.tool, arguments = excluded.arguments,
                    reply_text = excluded.reply_text, message_id = excluded.message_id, category = excluded.category, rule = excluded.rule,
                    summary = excluded.summary, state = excluded.state, requested_seq = excluded.requested_seq,
                    requested_at = excluded.requested_at, expires_at = excluded.expires_at, decided_by = NULL, decided_at = NULL,
                    reason = NULL, edited = false, edit = NULL
                """, [org, text(r.approvalId), text(r.agentId), text(r.sessionId), r.kind.rawValue, text(r.callId), text(r.tool),
                      text(r.arguments?.serialized()), text(r.replyText), text(r.messageId), r.category?.rawValue, text(r.rule), text(r.summary),
                      seq, at, r.expiresAt.iso8601], on: connection, logger: logger)
            if let call = r.callId {
                try await run("""
                    INSERT INTO \(s).tool_calls (org, call_id, agent_id, session_id, tool, category, arguments, outcome, approval_id, requested_seq, ts)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending_approval', $8, $9, $10)
                    ON CONFLICT (org, call_id) DO UPDATE SET outcome = 'pending_approval', approval_id = excluded.approval_id
                    """, [org, text(call), text(r.agentId), text(r.sessionId), text(r.tool ?? ""), r.category?.rawValue,
                          text(r.arguments?.serialized()), text(r.approvalId), seq, at], on: connection, logger: logger)
            }
        case .decided(let approval, let state, let decidedBy, let reason, let edited, let edit):
            try await run("""
                UPDATE \(s).approvals SET state = $3, decided_by = $4, decided_at = $5, reason = $6, edited = $7, edit = $8
                 WHERE org = $1 AND approval_id = $2
                """, [org, text(approval), state, text(decidedBy), at, text(reason), edited, text(edit)], on: connection, logger: logger)
        case .activity(let agent, let session, let kind, let line):
            try await activity(event, org: org, agent: agent, session: session, kind: kind, line, schema: s, on: connection, logger: logger)
        case .approvalActivity(let approval, let kind, let line):
            var binds = PostgresBindings()
            binds.append(org)
            binds.append(PostgresJSON.storable(approval))
            var context: (String?, String?, String?) = (nil, nil, nil)
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT agent_id, session_id, summary FROM \(s).approvals WHERE org = $1 AND approval_id = $2
                """, binds: binds), logger: logger).decode((String, String?, String).self) {
                context = (row.0, row.1, row.2)
            }
            try await activity(event, org: org, agent: context.0, session: context.1, kind: kind, line(context.2), schema: s, on: connection, logger: logger)
        }
    }

    private func activity(_ event: ProjectedEvent, org: String, agent: String?, session: String?, kind: String, _ line: String, schema s: String,
                          on connection: PostgresConnection, logger: Logger) async throws {
        try await run("""
            INSERT INTO \(s).activity (org, seq, ts, agent_id, session_id, kind, line) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (org, seq) DO UPDATE SET ts = excluded.ts, agent_id = excluded.agent_id, session_id = excluded.session_id,
                kind = excluded.kind, line = excluded.line
            """, [org, Int64(event.seq), event.timestampText, text(agent), text(session), kind, text(AuditProjector.activityLine(event, line))],
            on: connection, logger: logger)
    }
}

/// `AuditReading` on the model in PostgreSQL: the org caught up first, then the same rows and
/// order as `AuditQueries`.
public struct PostgresAuditQueries: AuditReading {
    public let model: PostgresReadModel

    public init(model: PostgresReadModel) {
        precondition(model.name == AuditProjector.name, "PostgresAuditQueries reads the audit model, not \(model.name)")
        self.model = model
    }


    static func line(_ c: PostgresRandomAccessRow) throws -> ActivityLine {
        ActivityLine(seq: UInt64(try c[0].decode(Int64.self)), ts: try c[1].decode(String.self), agentId: try c[2].decode(String?.self),
                     sessionId: try c[3].decode(String?.self), kind: try c[4].decode(String.self), line: try c[5].decode(String.self))
    }

    public func activityPage(org: String, before: UInt64?, limit: Int) async throws -> [ActivityLine] {
        try await model.catchUp(org: org)
        var binds = PostgresBindings()
        binds.append(org)
        binds.append(Int64(clamping: before ?? UInt64(Int64.max)))
        binds.append(Int64(limit))
        return try await model.rows("read the activity log", """
            SELECT seq, ts, agent_id, session_id, kind, line FROM {schema}.activity WHERE org = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3
            """, binds, Self.line)
    }

    public func approvals(org: String, state: String?) async throws -> [ApprovalRecord] {
        try await model.catchUp(org: org)
        var binds = PostgresBindings()
        binds.append(org)
        binds.append(state)
        return try await model.rows("list approvals", """
            SELECT approval_id, agent_id, session_id, kind, tool, summary, rule, state, decided_by, requested_at, expires_at
              FROM {schema}.approvals WHERE org = $1 AND ($2::text IS NULL OR state = $2) ORDER BY requested_seq
            """, binds) { c in
            ApprovalRecord(approvalId: try c[0].decode(String.self), agentId: try c[1].decode(String.self), sessionId: try c[2].decode(String?.self),
                           kind: try c[3].decode(String.self), tool: try c[4].decode(String?.self), summary: try c[5].decode(String.self),
                           rule: try c[6].decode(String.self), state: try c[7].decode(String.self), decidedBy: try c[8].decode(String?.self),
                           requestedAt: try c[9].decode(String.self), expiresAt: try c[10].decode(String.self))
        }
    }
}
