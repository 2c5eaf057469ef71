import AuditProjection
import Logging
import PostgresNIO
import Projection
import PurserCore
import PurserDomain

/// The audit model in PostgreSQL: the activity log, every tool call and every approval, the same
/// rows as its SQLite twin (projections/audit), whose `AuditProjector.effects(of:)` decides what
/// each event writes and says; this projector folds a batch's effects in Swift over the rows they
/// touch (read first, inside the catch-up's transaction, which holds the org's checkpoint row),
/// by what the SQLite model's statements do, and writes the result in three statements.
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
        var changes: [(ProjectedEvent, [AuditEffect])] = []
        for event in events {
            switch Self.effects(of: event) {
            case .success(let found) where !found.isEmpty: changes.append((event, found))
            case .success: break
            case .failure(let error):
                skipped += 1
                logger.warning("read model audit: skipped event #\(event.seq) of org \(org): \(error.message)")
            }
        }
        guard !changes.isEmpty else { return skipped }
        var callIds = Set<String>(), approvalIds = Set<String>()
        for (_, effects) in changes {
            for effect in effects {
                switch effect {
                case .requested(let call, _, _, _, _, _): callIds.insert(call)
                case .finished(let f): callIds.insert(f.call)
                case .approvalRequested(let r):
                    approvalIds.insert(r.approvalId)
                    if let call = r.callId { callIds.insert(call) }
                case .decided(let approval, _, _, _, _, _), .approvalActivity(let approval, _, _): approvalIds.insert(approval)
                case .activity: break
                }
            }
        }
        var folded = AuditFold(calls: try await CallRow.fetch(connection, schema: s, org: org, ids: Array(callIds), logger: logger),
                               approvals: try await ApprovalRow.fetch(connection, schema: s, org: org, ids: Array(approvalIds), logger: logger))
        for (event, effects) in changes {
            for effect in effects { folded.apply(effect, event) }
        }
        if !folded.touchedCalls.isEmpty {
            try await PostgresJSON.execute("""
                INSERT INTO \(s).tool_calls (org, call_id, agent_id, session_id, tool, category, arguments, result, error, rule, duration_ms,
                    outcome, approval_id, requested_seq, finished_seq, ts)
                SELECT $1, u.call_id, u.agent_id, u.session_id, u.tool, u.category, u.arguments, u.result, u.error, u.rule, u.duration_ms,
                    u.outcome, u.approval_id, u.requested_seq, u.finished_seq, u.ts
                  FROM json_to_recordset($2::json) AS u(call_id text, agent_id text, session_id text, tool text, category text, arguments text,
                    result text, error text, rule text, duration_ms float8, outcome text, approval_id text, requested_seq bigint,
                    finished_seq bigint, ts text)
                ON CONFLICT (org, call_id) DO UPDATE SET agent_id = excluded.agent_id, session_id = excluded.session_id, tool = excluded.tool,
                    category = excluded.category, arguments = excluded.arguments, result = excluded.result, error = excluded.error,
                    rule = excluded.rule, duration_ms = excluded.duration_ms, outcome = excluded.outcome, approval_id = excluded.approval_id,
                    requested_seq = excluded.requested_seq, finished_seq = excluded.finished_seq, ts = excluded.ts
                """, org: org, records: folded.touchedCalls.compactMap { folded.calls[$0]?.record }, on: connection, logger: logger)
        }
        if !folded.touchedApprovals.isEmpty {
            try await PostgresJSON.execute("""
                INSERT INTO \(s).approvals (org, approval_id, agent_id, session_id, kind, call_id, tool, arguments, reply_text, message_id, category,
                    rule, summary, state, requested_seq, requested_at, expires_at, decided_by, decided_at, reason, edited, edit)
                SELECT $1, u.approval_id, u.agent_id, u.session_id, u.kind, u.call_id, u.tool, u.arguments, u.reply_text, u.message_id, u.category,
                    u.rule, u.summary, u.state, u.requested_seq, u.requested_at, u.expires_at, u.decided_by, u.decided_at, u.reason, u.edited, u.edit
                  FROM json_to_recordset($2::json) AS u(approval_id text, agent_id text, session_id text, kind text, call_id text, tool text,
                    arguments text, reply_text text, message_id text, category text, rule text, summary text, state text, requested_seq bigint,
                    requested_at text, expires_at text, decided_by text, decided_at text, reason text, edited boolean, edit text)
                ON CONFLICT (org, approval_id) DO UPDATE SET agent_id = excluded.agent_id, session_id = excluded.session_id, kind = excluded.kind,
                    call_id = excluded.call_id, tool = excluded.tool, arguments = excluded.arguments, reply_text = excluded.reply_text,
                    message_id = excluded.message_id, category = excluded.category, rule = excluded.rule, summary = excluded.summary,
                    state = excluded.state, requested_seq = excluded.requested_seq, requested_at = excluded.requested_at,
                    expires_at = excluded.expires_at, decided_by = excluded.decided_by, decided_at = excluded.decided_at,
                    reason = excluded.reason, edited = excluded.edited, edit = excluded.edit
                """, org: org, records: folded.touchedApprovals.compactMap { folded.approvals[$0]?.record }, on: connection, logger: logger)
        }
        if !folded.activity.isEmpty {
            try await PostgresJSON.execute("""
                INSERT INTO \(s).activity (org, seq, ts, agent_id, session_id, kind, line)
                SELECT $1, u.seq, u.ts, u.agent_id, u.session_id, u.kind, u.line
                  FROM json_to_recordset($2::json) AS u(seq bigint, ts text, agent_id text, session_id text, kind text, line text)
                ON CONFLICT (org, seq) DO UPDATE SET ts = excluded.ts, agent_id = excluded.agent_id, session_id = excluded.session_id,
                    kind = excluded.kind, line = excluded.line
                """, org: org, records: folded.activity, on: connection, logger: logger)
        }
        return skipped
    }
}

/// A batch of audit effects folded over the rows they touch, by the SQLite model's statements
/// (projections/audit): what each `INSERT … ON CONFLICT`, `INSERT OR REPLACE` and `UPDATE` there
/// leaves, done in order in Swift, so the batch is written in three statements.
struct AuditFold {
    var calls: [String: CallRow]
    var approvals: [String: ApprovalRow]
    /// Ids in first-touched order (each row written once).
    var touchedCalls: [String] = []
    var touchedApprovals: [String] = []
    var activity: [JSONValue] = []
    private var seenCalls = Set<String>(), seenApprovals = Set<String>()

    init(calls: [CallRow], approvals: [ApprovalRow]) {
        self.calls = Dictionary(calls.map { ($0.callId, $0) }, uniquingKeysWith: { a, _ in a })
        self.approvals = Dictionary(approvals.map { ($0.approvalId, $0) }, uniquingKeysWith: { a, _ in a })
    }

    private mutating func touchCall(_ id: String) { if seenCalls.insert(id).inserted { touchedCalls.append(id) } }
    private mutating func touchApproval(_ id: String) { if seenApprovals.insert(id).inserted { touchedApprovals.append(id) } }

    mutating func apply(_ effect: AuditEffect, _ event: ProjectedEvent) {
        let seq = event.seq, at = event.timestampText
        switch effect {
        case .requested(let call, let agent, let session, let tool, let category, let arguments):
            if var row = calls[call] {
                row.category = category ?? row.category
                row.arguments = row.arguments ?? arguments
                row.requestedSeq = seq
                calls[call] = row
            } else {
                calls[call] = CallRow(callId: call, agent: agent, session: session, tool: tool, category: category, arguments: arguments,
                                      outcome: "requested", requestedSeq: seq, ts: at)
            }
            touchCall(call)
        case .finished(let f):
            var row = calls[f.call] ?? CallRow(callId: f.call, agent: f.agent, session: f.session, tool: f.tool, outcome: f.outcome, ts: at)
            row.arguments = f.arguments ?? row.arguments
            row.result = f.result
            row.error = f.error
            row.rule = f.rule
            row.durationMs = f.durationMs
            row.outcome = f.outcome
            row.approval = f.approval ?? row.approval
            row.finishedSeq = seq
            calls[f.call] = row
            touchCall(f.call)
        case .approvalRequested(let r):
            approvals[r.approvalId] = ApprovalRow(approvalId: r.approvalId, agent: r.agentId, session: r.sessionId, kind: r.kind.rawValue, callId: r.callId,
                                                  tool: r.tool, arguments: r.arguments?.serialized(), replyText: r.replyText, messageId: r.messageId,
                                                  category: r.category?.rawValue, rule: r.rule, summary: r.summary, state: "pending",
                                                  requestedSeq: seq, requestedAt: at, expiresAt: r.expiresAt.iso8601)
            touchApproval(r.approvalId)
            if let call = r.callId {
                if var row = calls[call] {
                    row.outcome = "pending_approval"
                    row.approval = r.approvalId
                    calls[call] = row
                } else {
                    calls[call] = CallRow(callId: call, agent: r.agentId, session: r.sessionId, tool: r.tool ?? "", category: r.category?.rawValue,
                                          arguments: r.arguments?.serialized(), outcome: "pending_approval", approval: r.approvalId, requestedSeq: seq, ts: at)
                }
                touchCall(call)
            }
        case .decided(let approval, let state, let decidedBy, let reason, let edited, let edit):
            guard var row = approvals[approval] else { return }
            row.state = state
            row.decidedBy = decidedBy
            row.decidedAt = at
            row.reason = reason
            row.edited = edited
            row.edit = edit
            approvals[approval] = row
            touchApproval(approval)
        case .activity(let agent, let session, let kind, let text):
            line(event, agent: agent, session: session, kind: kind, text)
        case .approvalActivity(let approval, let kind, let text):
            let row = approvals[approval]
            line(event, agent: row?.agent, session: row?.session, kind: kind, text(row?.summary))
        }
    }

    private mutating func line(_ event: ProjectedEvent, agent: String?, session: String?, kind: String, _ text: String) {
        activity.append(PostgresJSON.record(["ts": event.timestampText, "agent_id": agent, "session_id": session, "kind": kind,
                                             "line": AuditProjector.activityLine(event, text)], numbers: ["seq": Double(event.seq)]))
    }
}

/// One row of `tool_calls`.
struct CallRow: Sendable {
    var callId: String
    var agent: String
    var session: String?
    var tool: String
    var category: String?
    var arguments: String?
    var result: String?
    var error: String?
    var rule: String?
    var durationMs: Double?
    var outcome: String
    var approval: String?
    var requestedSeq: UInt64?
    var finishedSeq: UInt64?
    var ts: String

    init(callId: String, agent: String, session: String?, tool: String, category: String? = nil, arguments: String? = nil, outcome: String,
         approval: String? = nil, requestedSeq: UInt64? = nil, ts: String) {
        self.callId = callId
        self.agent = agent
        self.session = session
        self.tool = tool
        self.category = category
        self.arguments = arguments
        self.outcome = outcome
        self.approval = approval
        self.requestedSeq = requestedSeq
        self.ts = ts
    }

    var record: JSONValue {
        guard case .object(var members) = PostgresJSON.record([
            "call_id": callId, "agent_id": agent, "session_id": session, "tool": tool, "category": category, "arguments": arguments,
            "result": result, "error": error, "rule": rule, "outcome": outcome, "approval_id": approval, "ts": ts,
        ]) else { preconditionFailure("a record is an object") }
        members["duration_ms"] = durationMs.map(JSONValue.number) ?? .null
        members["requested_seq"] = requestedSeq.map { .number(Double($0)) } ?? .null
        members["finished_seq"] = finishedSeq.map { .number(Double($0)) } ?? .null
        return .object(members)
    }

    static func fetch(_ connection: PostgresConnection, schema: String, org: String, ids: [String], logger: Logger) async throws -> [CallRow] {
        guard !ids.isEmpty else { return [] }
        var out: [CallRow] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT call_id, agent_id, session_id, tool, category, arguments, result, error, rule, duration_ms, outcome, approval_id,
                   requested_seq, finished_seq, ts FROM \(schema).tool_calls WHERE org = $1 AND call_id = ANY($2)
            """, binds: PostgresBindings.of(org, ids.map(PostgresJSON.storable))), logger: logger) {
            let c = row.makeRandomAccess()
            var r = CallRow(callId: try c[0].decode(String.self), agent: try c[1].decode(String.self), session: try c[2].decode(String?.self),
                            tool: try c[3].decode(String.self), category: try c[4].decode(String?.self), arguments: try c[5].decode(String?.self),
                            outcome: try c[10].decode(String.self), approval: try c[11].decode(String?.self),
                            requestedSeq: try c[12].decode(Int64?.self).map { UInt64($0) }, ts: try c[14].decode(String.self))
            r.result = try c[6].decode(String?.self)
            r.error = try c[7].decode(String?.self)
            r.rule = try c[8].decode(String?.self)
            r.durationMs = try c[9].decode(Double?.self)
            r.finishedSeq = try c[13].decode(Int64?.self).map { UInt64($0) }
            out.append(r)
        }
        return out
    }
}

/// One row of `approvals`.
struct ApprovalRow: Sendable {
    var approvalId: String
    var agent: String
    var session: String?
    var kind: String
    var callId: String?
    var tool: String?
    var arguments: String?
    var replyText: String?
    var messageId: String?
    var category: String?
    var rule: String
    var summary: String
    var state: String
    var requestedSeq: UInt64
    var requestedAt: String
    var expiresAt: String
    var decidedBy: String?
    var decidedAt: String?
    var reason: String?
    var edited = false
    var edit: String?

    init(approvalId: String, agent: String, session: String?, kind: String, callId: String?, tool: String?, arguments: String?, replyText: String?,
         messageId: String?, category: String?, rule: String, summary: String, state: String, requestedSeq: UInt64, requestedAt: String,
         expiresAt: String) {
        self.approvalId = approvalId
        self.agent = agent
        self.session = session
        self.kind = kind
        self.callId = callId
        self.tool = tool
        self.arguments = arguments
        self.replyText = replyText
        self.messageId = messageId
        self.category = category
        self.rule = rule
        self.summary = summary
        self.state = state
        self.requestedSeq = requestedSeq
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
    }

    var record: JSONValue {
        guard case .object(var members) = PostgresJSON.record([
            "approval_id": approvalId, "agent_id": agent, "session_id": session, "kind": kind, "call_id": callId, "tool": tool,
            "arguments": arguments, "reply_text": replyText, "message_id": messageId, "category": category, "rule": rule, "summary": summary,
            "state": state, "requested_at": requestedAt, "expires_at": expiresAt, "decided_by": decidedBy, "decided_at": decidedAt,
            "reason": reason, "edit": edit,
        ], numbers: ["requested_seq": Double(requestedSeq)]) else { preconditionFailure("a record is an object") }
        members["edited"] = .bool(edited)
        return .object(members)
    }

    static func fetch(_ connection: PostgresConnection, schema: String, org: String, ids: [String], logger: Logger) async throws -> [ApprovalRow] {
        guard !ids.isEmpty else { return [] }
        var out: [ApprovalRow] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT approval_id, agent_id, session_id, kind, call_id, tool, arguments, reply_text, message_id, category, rule, summary, state,
                   requested_seq, requested_at, expires_at, decided_by, decided_at, reason, edited, edit
              FROM \(schema).approvals WHERE org = $1 AND approval_id = ANY($2)
            """, binds: PostgresBindings.of(org, ids.map(PostgresJSON.storable))), logger: logger) {
            let c = row.makeRandomAccess()
            var r = ApprovalRow(approvalId: try c[0].decode(String.self), agent: try c[1].decode(String.self), session: try c[2].decode(String?.self),
                                kind: try c[3].decode(String.self), callId: try c[4].decode(String?.self), tool: try c[5].decode(String?.self),
                                arguments: try c[6].decode(String?.self), replyText: try c[7].decode(String?.self), messageId: try c[8].decode(String?.self),
                                category: try c[9].decode(String?.self), rule: try c[10].decode(String.self), summary: try c[11].decode(String.self),
                                state: try c[12].decode(String.self), requestedSeq: UInt64(try c[13].decode(Int64.self)),
                                requestedAt: try c[14].decode(String.self), expiresAt: try c[15].decode(String.self))
            r.decidedBy = try c[16].decode(String?.self)
            r.decidedAt = try c[17].decode(String?.self)
            r.reason = try c[18].decode(String?.self)
            r.edited = try c[19].decode(Bool.self)
            r.edit = try c[20].decode(String?.self)
            out.append(r)
        }
        return out
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
