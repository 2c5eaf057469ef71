import Foundation
import GRDB
import Projection
import PurserDomain
import Tools

/// The audit read model: an activity log in sentences ("14:28 — Queried 3 bookings"), every
/// tool call with its arguments, result, duration and outcome, and every approval with its state
/// and who decided. Message traffic itself is in the sessions model; this one records what the
/// agent and the people did.
public struct AuditProjector: Projector {
    public static let name = "audit"
    /// 1: first version. 2: activity keyed by org and position (positions are per org on
    /// PostgreSQL).
    public static let schemaVersion = 2

    public init() {}

    public var name: String { Self.name }
    public var schemaVersion: Int { Self.schemaVersion }
    /// The target's `schema.sql`, compiled into the module (Package.swift, `projector`).
    public var schemaSQL: String { String(decoding: PackageResources.schema_sql, as: UTF8.self) }
    public var eventTypes: Set<String> {
        [ToolRequested.type, ToolDenied.type, ToolExecuted.type, ToolFailed.type, ApprovalRequested.type, ApprovalGranted.type,
         ApprovalRejected.type, ApprovalExpired.type, GuardrailTripped.type, SessionHandedOff.type, SessionReleased.type,
         SessionClosed.type, AgentConfigured.type, AgentStatusChanged.type]
    }

    public func apply(_ event: ProjectedEvent, _ db: Database) throws {
        for effect in try Self.effects(of: event) { try execute(effect, event, db) }
    }

    /// What `event` does to the model, in order: decided here once for both stores that keep it
    /// (this SQLite model and its PostgreSQL twin), so the rows and sentences are the same.
    /// Everything is decoded before anything is written.
    public static func effects(of event: ProjectedEvent) throws(ProjectionError) -> [AuditEffect] {
        switch event.type {
        case ToolRequested.type:
            let p = try PayloadFields(event)
            let agent = try p.string("agentId"), call = try p.string("callId"), tool = try p.string("tool")
            return [.requested(call: call, agent: agent, session: p.sessionId, tool: tool, category: p.optionalString("category"),
                               arguments: p.json("arguments"))]
        case ToolExecuted.type:
            let p = try PayloadFields(event)
            let agent = try p.string("agentId"), call = try p.string("callId"), tool = try p.string("tool")
            let duration = try p.double("durationMs")
            return [.finished(AuditEffect.Finished(call: call, agent: agent, session: p.sessionId, tool: tool, arguments: p.json("arguments"),
                                                   result: p.json("result"), error: nil, rule: nil, durationMs: duration, outcome: "executed",
                                                   approval: p.optionalString("approvalId"))),
                    .activity(agent: agent, session: p.sessionId, kind: "tool.executed",
                              text: describeExecution(tool: tool, call: ExecutedCall(fields: p), durationMs: duration))]
        case ToolFailed.type:
            let p = try PayloadFields(event)
            let agent = try p.string("agentId"), call = try p.string("callId"), tool = try p.string("tool")
            let error = try p.string("error")
            return [.finished(AuditEffect.Finished(call: call, agent: agent, session: p.sessionId, tool: tool, arguments: p.json("arguments"),
                                                   result: nil, error: error, rule: p.optionalString("code"), durationMs: p.optionalDouble("durationMs"),
                                                   outcome: "failed", approval: p.optionalString("approvalId"))),
                    .activity(agent: agent, session: p.sessionId, kind: "tool.failed", text: "\(tool) failed: \(error)")]
        case ToolDenied.type:
            let p = try PayloadFields(event)
            let agent = try p.string("agentId"), call = try p.string("callId"), tool = try p.string("tool")
            let rule = try p.string("rule"), reason = try p.string("reason")
            return [.finished(AuditEffect.Finished(call: call, agent: agent, session: p.sessionId, tool: tool, arguments: p.json("arguments"),
                                                   result: nil, error: reason, rule: rule, durationMs: nil, outcome: "denied",
                                                   approval: p.optionalString("approvalId"))),
                    .activity(agent: agent, session: p.sessionId, kind: "tool.denied", text: "Denied \(tool) (\(rule)): \(reason)")]
        case ApprovalRequested.type:
            let r = try event.decode(ApprovalRequested.self)
            return [.approvalRequested(r),
                    .activity(agent: r.agentId, session: r.sessionId, kind: "approval.requested", text: "Asked for approval: \(r.summary) (\(r.rule))")]
        case ApprovalGranted.type:
            let g = try event.decode(ApprovalGranted.self)
            let edit: String? = g.wasEdited ? (try? JSONValue(encoding: g.diff).serialized()) : nil
            return [.decided(approval: g.approvalId, state: "granted", decidedBy: g.decidedBy, reason: nil, edited: g.wasEdited, edit: edit),
                    .approvalActivity(approval: g.approvalId, kind: "approval.granted", text: { summary in
                        "\(g.decidedBy) approved\(g.wasEdited ? " with edits" : ""): \(summary ?? g.approvalId)"
                    })]
        case ApprovalRejected.type:
            let r = try event.decode(ApprovalRejected.self)
            return [.decided(approval: r.approvalId, state: "rejected", decidedBy: r.decidedBy, reason: r.reason, edited: false, edit: nil),
                    .approvalActivity(approval: r.approvalId, kind: "approval.rejected", text: { summary in
                        "\(r.decidedBy) rejected: \(summary ?? r.approvalId)\(r.reason.map { " — \($0)" } ?? "")"
                    })]
        case ApprovalExpired.type:
            let e = try event.decode(ApprovalExpired.self)
            return [.decided(approval: e.approvalId, state: "expired", decidedBy: nil, reason: "expired", edited: false, edit: nil),
                    .approvalActivity(approval: e.approvalId, kind: "approval.expired", text: { summary in
                        "Approval expired unanswered: \(summary ?? e.approvalId)"
                    })]
        case GuardrailTripped.type:
            let g = try event.decode(GuardrailTripped.self)
            return [.activity(agent: g.agentId, session: g.sessionId, kind: "guardrail.tripped", text: "Guardrail \(g.guardrail.rawValue) tripped: \(g.detail)")]
        case SessionHandedOff.type:
            let h = try event.decode(SessionHandedOff.self)
            return [.activity(agent: nil, session: h.sessionId, kind: "session.handed_off",
                              text: "Handed the conversation to \(h.handedOffTo ?? "a human") (\(h.trigger.rawValue)): \(h.reason)")]
        case SessionReleased.type:
            let r = try event.decode(SessionReleased.self)
            return [.activity(agent: nil, session: r.sessionId, kind: "session.released", text: "\(r.releasedBy) gave the conversation back to the agent")]
        case SessionClosed.type:
            let c = try event.decode(SessionClosed.self)
            return [.activity(agent: nil, session: c.sessionId, kind: "session.closed", text: "Closed the conversation: \(c.reason)")]
        case AgentConfigured.type:
            let c = try event.decode(AgentConfigured.self)
            return [.activity(agent: c.agentId, session: nil, kind: "agent.configured",
                              text: "Configuration revision \(c.revision) of \(c.agentId) applied by \(event.actor.id)")]
        case AgentStatusChanged.type:
            let s = try event.decode(AgentStatusChanged.self)
            return [.activity(agent: s.agentId, session: nil, kind: "agent.status_changed",
                              text: "\(s.agentId) \(s.to == .paused ? "paused" : "set to \(s.to.rawValue)") by \(event.actor.id)\(s.reason.map { ": \($0)" } ?? "")")]
        default:
            return []
        }
    }

    private func execute(_ effect: AuditEffect, _ event: ProjectedEvent, _ db: Database) throws {
        let seq = Int64(event.seq), at = event.timestampText
        switch effect {
        case .requested(let call, let agent, let session, let tool, let category, let arguments):
            try db.run("""
                INSERT INTO tool_calls (org, call_id, agent_id, session_id, tool, category, arguments, outcome, requested_seq, ts)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?)
                ON CONFLICT (org, call_id) DO UPDATE SET category = coalesce(excluded.category, tool_calls.category),
                    arguments = coalesce(tool_calls.arguments, excluded.arguments), requested_seq = excluded.requested_seq
                """) { b in
                b.bind(1, event.org); b.bind(2, call); b.bind(3, agent); b.bind(4, session); b.bind(5, tool)
                b.bind(6, category); b.bind(7, arguments); b.bind(8, seq); b.bind(9, at)
            }
        case .finished(let f):
            try db.run("""
                INSERT INTO tool_calls (org, call_id, agent_id, session_id, tool, arguments, result, error, rule, duration_ms, outcome,
                    approval_id, finished_seq, ts)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (org, call_id) DO UPDATE SET arguments = coalesce(excluded.arguments, tool_calls.arguments),
                    result = excluded.result, error = excluded.error, rule = excluded.rule, duration_ms = excluded.duration_ms,
                    outcome = excluded.outcome, approval_id = coalesce(excluded.approval_id, tool_calls.approval_id),
                    finished_seq = excluded.finished_seq
                """) { b in
                b.bind(1, event.org); b.bind(2, f.call); b.bind(3, f.agent); b.bind(4, f.session); b.bind(5, f.tool); b.bind(6, f.arguments)
                b.bind(7, f.result); b.bind(8, f.error); b.bind(9, f.rule); b.bind(10, f.durationMs); b.bind(11, f.outcome); b.bind(12, f.approval)
                b.bind(13, seq); b.bind(14, at)
            }
        case .approvalRequested(let r):
            try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO approvals (org, approval_id, agent_id, session_id, kind, call_id, tool, arguments, reply_text,
                    message_id, category, rule, summary, state, requested_seq, requested_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
                """).execute(arguments: [event.org, r.approvalId, r.agentId, r.sessionId, r.kind.rawValue, r.callId, r.tool,
                                         r.arguments?.serialized(), r.replyText, r.messageId, r.category?.rawValue, r.rule, r.summary,
                                         seq, at, r.expiresAt.iso8601])
            if let call = r.callId {
                try db.cachedStatement(sql: """
                    INSERT INTO tool_calls (org, call_id, agent_id, session_id, tool, category, arguments, outcome, approval_id, requested_seq, ts)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 'pending_approval', ?, ?, ?)
                    ON CONFLICT (org, call_id) DO UPDATE SET outcome = 'pending_approval', approval_id = excluded.approval_id
                    """).execute(arguments: [event.org, call, r.agentId, r.sessionId, r.tool ?? "", r.category?.rawValue,
                                             r.arguments?.serialized(), r.approvalId, seq, at])
            }
        case .decided(let approval, let state, let decidedBy, let reason, let edited, let edit):
            try db.cachedStatement(sql: """
                UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, reason = ?, edited = ?, edit = ? WHERE org = ? AND approval_id = ?
                """).execute(arguments: [state, decidedBy, at, reason, edited ? 1 : 0, edit, event.org, approval])
        case .activity(let agent, let session, let kind, let text):
            try activity(db, event, agent: agent, session: session, kind: kind, text)
        case .approvalActivity(let approval, let kind, let text):
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT agent_id, session_id, summary FROM approvals WHERE org = ? AND approval_id = ?"),
                                       arguments: [event.org, approval])
            try activity(db, event, agent: row?[0], session: row?[1], kind: kind, text(row?[2]))
        }
    }

    private func activity(_ db: Database, _ event: ProjectedEvent, agent: String?, session: String?, kind: String, _ text: String) throws {
        let line = Self.activityLine(event, text)
        try db.run("INSERT OR REPLACE INTO activity (org, seq, ts, agent_id, session_id, kind, line) VALUES (?, ?, ?, ?, ?, ?, ?)") { b in
            b.bind(1, event.org); b.bind(2, Int64(event.seq)); b.bind(3, event.timestampText); b.bind(4, agent); b.bind(5, session)
            b.bind(6, kind); b.bind(7, line)
        }
    }

    /// An activity line: the event's time (`HH:MM`, UTC), a dash, what happened.
    public static func activityLine(_ event: ProjectedEvent, _ text: String) -> String {
        "\(clock(event.timestampMs)) — \(text)"
    }

    /// `HH:MM` of a time, in UTC.
    static func clock(_ ms: Int64) -> String {
        let minutes = (ms / 60_000) % (24 * 60)
        let m = minutes < 0 ? minutes + 24 * 60 : minutes
        let h = m / 60, mm = m % 60
        return (h < 10 ? "0" : "") + String(h) + ":" + (mm < 10 ? "0" : "") + String(mm)
    }

    /// A sentence for a tool execution: what a person would say the agent did, in the words of
    /// the tool's catalog entry; "Ran <tool> (N ms)" when it has nothing more specific to say.
    static func describeExecution(tool: String, call: some ToolCallFacts, durationMs: Double) -> String {
        ToolCatalog.standard.sentence(tool: tool, call: call) ?? "Ran \(tool) (\(Int(durationMs.rounded())) ms)"
    }
}

/// A `tool.executed` as a tool's sentence reads it: straight from the event's bytes, looking only
/// at the members the sentence asks for (a query's result can be large).
struct ExecutedCall: ToolCallFacts {
    let fields: PayloadFields

    func argumentString(_ key: StaticString) -> String? { fields.optionalString("arguments", key) }
    func resultNumber(_ key: StaticString) -> Double? { fields.optionalDouble("result", key) }
    func resultHas(_ key: StaticString) -> Bool { fields.has("result", key) }
}

/// What one event does to the audit model (`AuditProjector.effects(of:)`).
public enum AuditEffect: Sendable {
    /// A tool call that ended (executed, failed, denied).
    public struct Finished: Sendable {
        public var call: String
        public var agent: String
        public var session: String?
        public var tool: String
        /// The call's arguments and result as the event holds them (JSON text).
        public var arguments: String?
        public var result: String?
        public var error: String?
        public var rule: String?
        public var durationMs: Double?
        public var outcome: String
        public var approval: String?
    }

    /// A tool call asked for: its row, `requested`, unless it is further along already.
    case requested(call: String, agent: String, session: String?, tool: String, category: String?, arguments: String?)
    case finished(Finished)
    /// An approval asked for (its row, pending); with a call id, that call waits for it.
    case approvalRequested(ApprovalRequested)
    case decided(approval: String, state: String, decidedBy: String?, reason: String?, edited: Bool, edit: String?)
    /// A line of the activity log (without its time: `AuditProjector.activityLine`).
    case activity(agent: String?, session: String?, kind: String, text: String)
    /// A line about an approval: its agent and session, and the text from its summary, are taken
    /// from the approval's row as the model holds it then.
    case approvalActivity(approval: String, kind: String, text: @Sendable (_ summary: String?) -> String)
}

/// One line of an org's activity log.
public struct ActivityLine: Sendable, Hashable {
    public var seq: UInt64
    public var ts: String
    public var agentId: String?
    public var sessionId: String?
    public var kind: String
    /// E.g. "14:28 — Queried 3 bookings".
    public var line: String

    public init(seq: UInt64, ts: String, agentId: String?, sessionId: String?, kind: String, line: String) {
        self.seq = seq
        self.ts = ts
        self.agentId = agentId
        self.sessionId = sessionId
        self.kind = kind
        self.line = line
    }
}

/// One approval and its state.
public struct ApprovalRecord: Sendable, Hashable {
    public var approvalId: String
    public var agentId: String
    public var sessionId: String?
    public var kind: String
    public var tool: String?
    public var summary: String
    public var rule: String
    /// `pending`, `granted`, `rejected` or `expired`.
    public var state: String
    public var decidedBy: String?
    public var requestedAt: String
    public var expiresAt: String

    public init(approvalId: String, agentId: String, sessionId: String?, kind: String, tool: String?, summary: String, rule: String,
                state: String, decidedBy: String?, requestedAt: String, expiresAt: String) {
        self.approvalId = approvalId
        self.agentId = agentId
        self.sessionId = sessionId
        self.kind = kind
        self.tool = tool
        self.summary = summary
        self.rule = rule
        self.state = state
        self.decidedBy = decidedBy
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
    }
}

/// Where the audit model is read when it is not the node's SQLite file: the model in
/// PostgreSQL, shared by every node (set by the runtime). Each read is caught up first; the
/// answers are `AuditQueries`'.
public protocol AuditReading: Sendable {
    /// A page of the org's activity log, newest first (`AuditQueries.activityPage`).
    func activityPage(org: String, before: UInt64?, limit: Int) async throws -> [ActivityLine]
    /// The org's approvals, optionally in one state, oldest first (`AuditQueries.approvals`).
    func approvals(org: String, state: String?) async throws -> [ApprovalRecord]
}

/// Queries of the audit read model, each scoped to one org.
public enum AuditQueries {
    /// The org's activity log, oldest first; with `last`, only the last that many lines.
    public static func activity(_ db: Database, org: String, last: Int? = nil) throws -> [ActivityLine] {
        try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM activity WHERE org = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                         arguments: [org, last ?? -1]).map {
            ActivityLine(seq: UInt64($0["seq"] as Int64), ts: $0["ts"], agentId: $0["agent_id"], sessionId: $0["session_id"],
                         kind: $0["kind"], line: $0["line"])
        }
    }

    /// A page of the org's activity log, newest first: up to `limit` lines before seq `before`.
    public static func activityPage(_ db: Database, org: String, before: UInt64?, limit: Int) throws -> [ActivityLine] {
        try Row.fetchAll(db, sql: "SELECT * FROM activity WHERE org = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                         arguments: [org, Int64(clamping: before ?? UInt64(Int64.max)), limit]).map {
            ActivityLine(seq: UInt64($0["seq"] as Int64), ts: $0["ts"], agentId: $0["agent_id"], sessionId: $0["session_id"],
                         kind: $0["kind"], line: $0["line"])
        }
    }

    /// The org's approvals, optionally in one state, oldest first.
    public static func approvals(_ db: Database, org: String, state: String? = nil) throws -> [ApprovalRecord] {
        let rows = state == nil
            ? try Row.fetchAll(db, sql: "SELECT * FROM approvals WHERE org = ? ORDER BY requested_seq", arguments: [org])
            : try Row.fetchAll(db, sql: "SELECT * FROM approvals WHERE org = ? AND state = ? ORDER BY requested_seq", arguments: [org, state])
        return rows.map {
            ApprovalRecord(approvalId: $0["approval_id"], agentId: $0["agent_id"], sessionId: $0["session_id"], kind: $0["kind"],
                           tool: $0["tool"], summary: $0["summary"], rule: $0["rule"], state: $0["state"], decidedBy: $0["decided_by"],
                           requestedAt: $0["requested_at"], expiresAt: $0["expires_at"])
        }
    }
}
