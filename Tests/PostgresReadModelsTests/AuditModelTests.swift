import AuditProjection
import EventLog
import EventStore
import Foundation
import GRDB
import PostgresNIO
import PostgresReadModels
import PostgresStore
import PostgresTestSupport
import Projection
import PurserCore
import PurserDomain
import PurserTestSupport
import Testing

/// The audit model in PostgreSQL holds exactly what its SQLite twin holds after random histories
/// of tool calls, approvals and their decisions, guardrails and session and agent changes in two
/// orgs (every column of its three tables compared, the activity sentences among them), and its
/// reads answer as `AuditQueries` do.
@Suite("audit read model in PostgreSQL", .serialized, .enabled(if: TestDatabase.enabled))
struct AuditModelTests {
    static func draft<P: EventPayload>(_ org: String, _ payload: P, stream: String, ms: Int64, actor: Actor = Actor(.agent, "primary")) throws -> EventDraft {
        let encoded = try EventCatalog.standard.encode(payload)
        return EventDraft(org: org, stream: stream, type: encoded.type, version: encoded.version, data: Array(encoded.data), actor: actor,
                          timestampMs: ms)
    }

    static func history(seed: UInt64, count: Int) throws -> [EventDraft] {
        var random = SeededRandom(seed: seed)
        var out: [EventDraft] = []
        let tools = ["data_query_tool", "crm_tool", "booking_tool"]
        for i in 0..<count {
            let org = Bool.random(using: &random) ? "haff" : "kite"
            let call = "call_\(Int.random(in: 0..<30, using: &random))", approval = "apr_\(Int.random(in: 0..<12, using: &random))"
            let session = Bool.random(using: &random) ? "ses_\(i % 6)" : nil
            let tool = tools.randomElement(using: &random)!
            let arguments: JSONValue = ["objectType": "booking", "limit": .number(Double(i % 9))]
            let ms = 1_764_000_000_000 + Int64(i) * 47_000
            let stream = session.map { "session:\($0)" } ?? "agent:primary"
            switch Int.random(in: 0..<13, using: &random) {
            case 0...1:
                out.append(try draft(org, ToolRequested(agentId: "primary", sessionId: session, callId: call, tool: tool, arguments: arguments,
                                                        category: Bool.random(using: &random) ? .read : nil), stream: stream, ms: ms))
            case 2...3:
                out.append(try draft(org, ToolExecuted(agentId: "primary", sessionId: session, callId: call, tool: tool, arguments: arguments,
                                                       result: ["total": .number(Double(i % 7)), "items": []],
                                                       durationMs: Double(Int.random(in: 1...9999, using: &random)) / 7,
                                                       approvalId: Bool.random(using: &random) ? approval : nil), stream: stream, ms: ms))
            case 4:
                out.append(try draft(org, ToolFailed(agentId: "primary", sessionId: session, callId: call, tool: tool, arguments: arguments,
                                                     error: "timeout \(i)", code: Bool.random(using: &random) ? "tool.timeout" : nil,
                                                     durationMs: 30_000), stream: stream, ms: ms))
            case 5:
                out.append(try draft(org, ToolDenied(agentId: "primary", sessionId: session, callId: call, tool: tool, rule: "disabled",
                                                     reason: "not enabled for this agent"), stream: stream, ms: ms))
            case 6...7:
                let onCall = Bool.random(using: &random)
                out.append(try draft(org, ApprovalRequested(approvalId: approval, agentId: "primary", sessionId: session, kind: onCall ? .toolCall : .reply,
                                                            callId: onCall ? call : nil, tool: onCall ? tool : nil, arguments: onCall ? arguments : nil,
                                                            replyText: onCall ? nil : "Gerne – morgen um 10 Uhr.", messageId: onCall ? nil : "msg_\(i)",
                                                            category: onCall ? .write : .message, rule: "requireApprovalFor", summary: "Antwort \(i) freigeben",
                                                            expiresAt: Timestamp(millisecondsSinceEpoch: ms + 86_400_000)), stream: stream, ms: ms))
            case 8:
                out.append(try draft(org, ApprovalGranted(approvalId: approval, decidedBy: "anna", editedText: Bool.random(using: &random) ? "Gern!" : nil),
                                     stream: stream, ms: ms, actor: Actor(.human, "anna")))
            case 9:
                out.append(try draft(org, ApprovalRejected(approvalId: approval, decidedBy: "ben", reason: Bool.random(using: &random) ? "zu teuer" : nil),
                                     stream: stream, ms: ms, actor: Actor(.human, "ben")))
            case 10:
                out.append(try draft(org, ApprovalExpired(approvalId: approval, expiresAt: Timestamp(millisecondsSinceEpoch: ms)), stream: stream, ms: ms,
                                     actor: Actor(.system, "purser")))
            case 11:
                out.append(try draft(org, GuardrailTripped(agentId: "primary", sessionId: session, guardrail: .blockedTopic, detail: "legal advice"),
                                     stream: stream, ms: ms))
            default:
                if let session {
                    out.append(try draft(org, SessionHandedOff(sessionId: session, trigger: .takeover, reason: "Kunde fragt nach Anna", handedOffTo: "anna"),
                                         stream: stream, ms: ms, actor: Actor(.human, "anna")))
                } else {
                    out.append(try draft(org, AgentStatusChanged(agentId: "primary", from: .active, to: .paused, reason: "Urlaub"), stream: stream, ms: ms,
                                         actor: Actor(.human, "owner")))
                }
            }
        }
        return out
    }

    static let tables: ModelDump.Tables = [
        ("activity", "org, seq, ts, agent_id, session_id, kind, line"),
        ("approvals", "org, approval_id, agent_id, session_id, kind, call_id, tool, arguments, reply_text, message_id, category, rule, summary, state, requested_seq, requested_at, expires_at, decided_by, decided_at, reason, edit"),
        ("tool_calls", "org, call_id, agent_id, session_id, tool, category, arguments, result, error, rule, outcome, approval_id, requested_seq, finished_seq, ts"),
    ]

    /// Each call's duration and each approval's edited flag, decoded (the servers print them differently).
    static func durationsAndFlags(_ local: ProjectionStore) async throws -> [String] {
        try await BlockingIO.run { () throws(any Error) -> [String] in
            try local.read { db in
                try Row.fetchAll(db, sql: "SELECT duration_ms FROM tool_calls ORDER BY org, call_id").map { "\(($0[0] as Double?).map { "\($0)" } ?? "∅")" }
                    + Row.fetchAll(db, sql: "SELECT edited FROM approvals ORDER BY org, approval_id").map { "\($0[0] as Bool)" }
            }
        }
    }

    static func durationsAndFlags(_ model: PostgresReadModel, _ url: PostgresURL) async throws -> [String] {
        let schema = try await model.liveSchema()
        return try await TestDatabase.withClient(url) { client in
            var out: [String] = []
            for try await duration in try await client.query(PostgresQuery(unsafeSQL: "SELECT duration_ms FROM \"\(schema)\".tool_calls ORDER BY org, call_id"))
                .decode(Double?.self) {
                out.append(duration.map { "\($0)" } ?? "∅")
            }
            for try await edited in try await client.query(PostgresQuery(unsafeSQL: "SELECT edited FROM \"\(schema)\".approvals ORDER BY org, approval_id"))
                .decode(Bool.self) {
                out.append("\(edited)")
            }
            return out
        }
    }

    @Test(arguments: [41 as UInt64, 42, 43])
    func theSameRowsAndAnswersAsSQLite(seed: UInt64) async throws {
        let dir = TempDir()
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let events = try Self.history(seed: seed, count: 400)
                for chunk in stride(from: 0, to: 200, by: 40) { _ = try await store.append(Array(events[chunk..<(chunk + 40)])) }
                let model = PostgresReadModel(projector: PostgresAuditProjector(), store: store, logger: TestDatabase.logger)
                try await model.prepare()
                let queries = PostgresAuditQueries(model: model)
                for chunk in stride(from: 200, to: 400, by: 9) {
                    _ = try await store.append(Array(events[chunk..<min(400, chunk + 9)]))
                    _ = try await queries.approvals(org: chunk % 2 == 0 ? "haff" : "kite", state: nil)
                }
                for org in ["haff", "kite"] { _ = try await queries.approvals(org: org, state: nil) }
                let local = ProjectionStore(projector: AuditProjector(), directory: dir.path + "/projections", source: .store(store),
                                            logger: TestDatabase.logger)
                let sqlite = try await ModelDump.sqlite(local, Self.tables)
                let postgres = try await ModelDump.postgres(model, url, Self.tables)
                #expect(postgres.count > 200)
                #expect(postgres == sqlite)
                #expect(try await Self.durationsAndFlags(model, url) == (try await Self.durationsAndFlags(local)))

                for org in ["haff", "kite"] {
                    for state in [nil, "pending", "granted", "rejected", "expired"] as [String?] {
                        let want = try await BlockingIO.run { () throws(any Error) in try local.read { try AuditQueries.approvals($0, org: org, state: state) } }
                        #expect(try await queries.approvals(org: org, state: state) == want)
                    }
                    for (before, limit) in [(nil, 50), (UInt64(120), 20), (UInt64(3), 10)] as [(UInt64?, Int)] {
                        let want = try await BlockingIO.run { () throws(any Error) in
                            try local.read { try AuditQueries.activityPage($0, org: org, before: before, limit: limit) }
                        }
                        #expect(try await queries.activityPage(org: org, before: before, limit: limit) == want)
                    }
                }
            }
        }
    }
}
