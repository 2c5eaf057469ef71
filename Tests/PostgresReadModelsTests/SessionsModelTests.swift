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
import SessionsProjection
import Testing

/// The sessions model in PostgreSQL holds exactly what its SQLite twin holds after random
/// conversations in two orgs (messages before and after their session's opening, hand-offs,
/// releases, closings, model costs, contacts, webchat visitors; every column of its three tables
/// compared, costs with `==`), and its reads answer as `SessionsQueries` do.
@Suite("sessions read model in PostgreSQL", .serialized, .enabled(if: TestDatabase.enabled))
struct SessionsModelTests {
    static func draft<P: EventPayload>(_ org: String, _ payload: P, stream: String, ms: Int64, actor: Actor = Actor(.system, "purser")) throws -> EventDraft {
        let encoded = try EventCatalog.standard.encode(payload)
        return EventDraft(org: org, stream: stream, type: encoded.type, version: encoded.version, data: Array(encoded.data), actor: actor,
                          timestampMs: ms)
    }

    static func history(seed: UInt64, count: Int) throws -> [EventDraft] {
        var random = SeededRandom(seed: seed)
        var out: [EventDraft] = []
        let channels: [Channel] = [.whatsapp, .webchat, .email]
        for i in 0..<count {
            let org = Bool.random(using: &random) ? "haff" : "kite"
            let n = Int.random(in: 0..<12, using: &random)
            let session = "ses_\(n)", channel = channels[n % 3], contact = channel == .webchat ? "wv_\(n)" : "+49170\(n)"
            let stream = "session:\(session)"
            // Minutes apart, with ties: the sessions list orders by the last message's time.
            let ms = 1_764_000_000_000 + Int64(i / 3) * 60_000
            switch Int.random(in: 0..<14, using: &random) {
            case 0...4:
                let hash = channel == .webchat && Bool.random(using: &random) ? "hash_\(org)_\(n)_\(Int.random(in: 0..<2, using: &random))" : nil
                out.append(try draft(org, MessageReceived(channel: channel, from: contact, to: "\(org)-web", text: "Frage \(i): Wann öffnet ihr?",
                                                          receivedAt: Timestamp(millisecondsSinceEpoch: ms),
                                                          agentId: Bool.random(using: &random) ? "primary" : nil,
                                                          sessionId: Bool.random(using: &random) ? session : nil, visitorTokenHash: hash),
                                     stream: stream, ms: ms, actor: Actor(.customer, contact)))
            case 5...7:
                out.append(try draft(org, MessageSent(messageId: "msg_\(i)", agentId: "primary", sessionId: Bool.random(using: &random) ? session : nil,
                                                      channel: channel, to: contact, text: "Antwort \(i)"),
                                     stream: stream, ms: ms, actor: Bool.random(using: &random) ? Actor(.agent, "primary") : Actor(.human, "anna")))
            case 8...9:
                let cost = Double(Int.random(in: 1...999_999, using: &random)) / 1e8 * 3.3
                out.append(try draft(org, LLMCompleted(agentId: "primary", sessionId: session, provider: "test", model: "m",
                                                       promptTokens: Int.random(in: 0...3000, using: &random), completionTokens: Int.random(in: 0...500, using: &random),
                                                       costUsd: cost, costSource: .priceTable, latencyMs: 200),
                                     stream: stream, ms: ms))
            case 10:
                out.append(try draft(org, ContactResolved(channel: channel, externalContactId: contact, crmContactId: "c_\(n % 5)", matchedBy: .phone,
                                                          sessionId: session), stream: stream, ms: ms))
            case 11:
                out.append(try draft(org, SessionOpened(sessionId: session, agentId: "primary", channel: channel, externalContactId: contact,
                                                        crmContactId: Bool.random(using: &random) ? "c_\(n)" : nil, internalSession: n == 7),
                                     stream: stream, ms: ms))
            case 12:
                if Bool.random(using: &random) {
                    out.append(try draft(org, SessionHandedOff(sessionId: session, trigger: .takeover, reason: "Übernahme \(i)",
                                                               handedOffTo: Bool.random(using: &random) ? "anna" : nil), stream: stream, ms: ms))
                } else {
                    out.append(try draft(org, SessionReleased(sessionId: session, releasedBy: "anna"), stream: stream, ms: ms))
                }
            default:
                out.append(try draft(org, SessionClosed(sessionId: session, reason: "idle"), stream: stream, ms: ms))
            }
        }
        return out
    }

    static let tables: ModelDump.Tables = [
        ("sessions", "org, session_id, agent_id, channel, external_contact, crm_contact, status, handed_off_to, handoff_reason, opened_at, last_message_at, closed_at, message_count, tokens_used, updated_seq"),
        ("transcript", "org, seq, session_id, direction, actor_kind, actor_id, text, ts"),
        ("webchat_visitors", "token_hash, org, visitor_id, org_address, seq"),
    ]

    /// Each session's cost and internal flag, decoded (the servers print them differently).
    static func costsAndFlags(_ local: ProjectionStore) async throws -> [String] {
        try await BlockingIO.run { () throws(any Error) -> [String] in
            try local.read { db in
                try Row.fetchAll(db, sql: "SELECT cost_usd, internal FROM sessions ORDER BY org, session_id").map { "\($0[0] as Double)|\($0[1] as Bool)" }
            }
        }
    }

    static func costsAndFlags(_ model: PostgresReadModel, _ url: PostgresURL) async throws -> [String] {
        let schema = try await model.liveSchema()
        return try await TestDatabase.withClient(url) { client in
            var out: [String] = []
            for try await (cost, flag) in try await client.query(PostgresQuery(unsafeSQL: "SELECT cost_usd, internal FROM \"\(schema)\".sessions ORDER BY org, session_id"))
                .decode((Double, Bool).self) {
                out.append("\(cost)|\(flag)")
            }
            return out
        }
    }

    @Test(arguments: [31 as UInt64, 32, 33])
    func theSameRowsAndAnswersAsSQLite(seed: UInt64) async throws {
        let dir = TempDir()
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let events = try Self.history(seed: seed, count: 600)
                for chunk in stride(from: 0, to: 300, by: 60) { _ = try await store.append(Array(events[chunk..<(chunk + 60)])) }
                let model = PostgresReadModel(projector: PostgresSessionsProjector(), store: store, logger: TestDatabase.logger)
                try await model.prepare()
                let queries = PostgresSessionsQueries(model: model)
                for chunk in stride(from: 300, to: 600, by: 11) {
                    _ = try await store.append(Array(events[chunk..<min(600, chunk + 11)]))
                    _ = try await queries.sessions(org: chunk % 2 == 0 ? "haff" : "kite", status: nil)
                }
                _ = try await queries.sessions(org: "haff", status: nil)
                _ = try await queries.sessions(org: "kite", status: nil)
                let local = ProjectionStore(projector: SessionsProjector(), directory: dir.path + "/projections", source: .store(store),
                                            logger: TestDatabase.logger)
                let sqlite = try await ModelDump.sqlite(local, Self.tables)
                let postgres = try await ModelDump.postgres(model, url, Self.tables)
                #expect(postgres.count > 300)
                #expect(postgres == sqlite)
                #expect(try await Self.costsAndFlags(model, url) == (try await Self.costsAndFlags(local)))

                for org in ["haff", "kite"] {
                    for status in [nil, "active", "handed_off", "closed"] as [String?] {
                        let want = try await BlockingIO.run { () throws(any Error) in
                            try local.read { db in
                                try SessionsQueries.sessions(db, org: org, status: status).map { row in
                                    (row, try SessionsQueries.transcript(db, org: org, session: row.sessionId, last: 1).first?.text)
                                }
                            }
                        }
                        #expect(try await queries.sessions(org: org, status: status) == want.map(\.0))
                        let withLast = try await queries.sessionsWithLastMessage(org: org, status: status)
                        #expect(withLast.map(\.session) == want.map(\.0) && withLast.map(\.lastMessage) == want.map(\.1))
                    }
                    for n in 0..<13 {
                        let channel = ["whatsapp", "webchat", "email"][n % 3], contact = channel == "webchat" ? "wv_\(n)" : "+49170\(n)"
                        let (open, one, transcript, last3, sent) = try await BlockingIO.run { () throws(any Error) in
                            try local.read { db in
                                (try SessionsQueries.openSession(db, org: org, channel: channel, contact: contact),
                                 try SessionsQueries.session(db, org: org, id: "ses_\(n)"),
                                 try SessionsQueries.transcript(db, org: org, session: "ses_\(n)"),
                                 try SessionsQueries.transcript(db, org: org, session: "ses_\(n)", last: 3),
                                 try SessionsQueries.sentTo(db, org: org, channel: channel, contact: contact, afterSeq: 40, limit: 5))
                            }
                        }
                        #expect(try await queries.openSession(org: org, channel: channel, contact: contact) == open)
                        #expect(try await queries.session(org: org, id: "ses_\(n)") == one)
                        #expect(try await queries.transcript(org: org, session: "ses_\(n)", last: nil) == transcript)
                        #expect(try await queries.transcript(org: org, session: "ses_\(n)", last: 3) == last3)
                        #expect(try await queries.sentTo(org: org, channel: channel, contact: contact, afterSeq: 40, limit: 5) == sent)
                    }
                }
                for (org, n) in ["haff", "kite"].flatMap({ org in (0..<12).map { (org, $0) } }) {
                    for k in 0..<2 {
                        // Token hashes are random (a hash seen in two orgs would keep whichever org came first).
                        let hash = "hash_\(org)_\(n)_\(k)"
                        let want = try await BlockingIO.run { () throws(any Error) in try local.read { try SessionsQueries.visitor($0, tokenHash: hash) } }
                        let got = try await queries.visitor(tokenHash: hash)
                        #expect(got?.org == want?.org && got?.visitorId == want?.visitorId && got?.orgAddress == want?.orgAddress)
                    }
                }
            }
        }
    }
}
