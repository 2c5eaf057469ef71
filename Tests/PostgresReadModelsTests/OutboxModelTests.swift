import EventLog
import EventStore
import Foundation
import GRDB
import OutboxProjection
import PostgresNIO
import PostgresReadModels
import PostgresStore
import PostgresTestSupport
import Projection
import PurserCore
import PurserDomain
import PurserTestSupport
import Testing

/// The outbox model in PostgreSQL holds exactly what its SQLite twin holds, built from the same
/// random histories of drafts, sends and delivery reports (every column of both tables compared),
/// and its reads answer as `OutboxQueries` do.
@Suite("outbox read model in PostgreSQL", .serialized, .enabled(if: TestDatabase.enabled))
struct OutboxModelTests {
    static func draft<P: EventPayload>(_ org: String, _ payload: P, stream: String, ms: Int64) throws -> EventDraft {
        let encoded = try EventCatalog.standard.encode(payload)
        return EventDraft(org: org, stream: stream, type: encoded.type, version: encoded.version, data: Array(encoded.data), timestampMs: ms)
    }

    /// Random outbox histories in two orgs that use the same message ids: drafts, sends (of drafts
    /// and of new messages, some twice), reports delivered, read or failed, with and without the
    /// channel's id, some for messages never sent.
    static func history(seed: UInt64, count: Int) throws -> [EventDraft] {
        var random = SeededRandom(seed: seed)
        var out: [EventDraft] = []
        for i in 0..<count {
            let org = Bool.random(using: &random) ? "haff" : "kite"
            let id = "msg_\(Int.random(in: 0..<40, using: &random))"
            let channel: Channel = [.whatsapp, .sms, .email].randomElement(using: &random)!
            let ms = 1_764_000_000_000 + Int64(i) * 1000
            switch Int.random(in: 0..<10, using: &random) {
            case 0...1:
                out.append(try draft(org, MessageDrafted(messageId: id, agentId: "primary", sessionId: "ses_\(i % 7)", channel: channel,
                                                         to: "+49\(i)", text: "Entwurf \(i)", approvalId: Bool.random(using: &random) ? "apr_\(i)" : nil),
                                     stream: "session:ses_\(i % 7)", ms: ms))
            case 2...5:
                out.append(try draft(org, MessageSent(messageId: id, agentId: Bool.random(using: &random) ? "primary" : nil, sessionId: "ses_\(i % 5)",
                                                      channel: channel, from: Bool.random(using: &random) ? "+4930\(i)" : nil, to: "+49\(i)",
                                                      text: "Antwort \(i) – grüße", subject: channel == .email ? "Re: \(i)" : nil,
                                                      inReplyTo: Bool.random(using: &random) ? "in_\(i)" : nil,
                                                      approvalId: Bool.random(using: &random) ? "apr_\(i)" : nil),
                                     stream: "session:ses_\(i % 5)", ms: ms))
            default:
                let status = MessageDelivered.Status.allCases.randomElement(using: &random)!
                out.append(try draft(org, MessageDelivered(messageId: id, status: status,
                                                           externalMessageId: Bool.random(using: &random) ? "wamid.\(Int.random(in: 0..<15, using: &random))" : nil,
                                                           error: status == .failed && Bool.random(using: &random) ? "131026 undeliverable" : nil),
                                     stream: "outbox", ms: ms))
            }
        }
        return out
    }

    static let tables: ModelDump.Tables = [
        ("external_ids", "org, channel, external_id, message_id, seq"),
        ("outbox", "org, message_id, state, agent_id, session_id, channel, from_address, to_address, text, subject, in_reply_to, approval_id, error, created_at, seq"),
    ]

    @Test(arguments: [11 as UInt64, 12, 13, 14])
    func theSameRowsAsSQLite(seed: UInt64) async throws {
        let dir = TempDir()
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let events = try Self.history(seed: seed, count: 500)
                // Half before the build, half after in small appends, caught up read by read.
                for chunk in stride(from: 0, to: 250, by: 50) { _ = try await store.append(Array(events[chunk..<(chunk + 50)])) }
                let model = PostgresReadModel(projector: PostgresOutboxProjector(), store: store, logger: TestDatabase.logger)
                try await model.prepare()
                let queries = PostgresOutboxQueries(model: model)
                for chunk in stride(from: 250, to: 500, by: 9) {
                    _ = try await store.append(Array(events[chunk..<min(500, chunk + 9)]))
                    _ = try await queries.messages(org: chunk % 2 == 0 ? "haff" : nil, states: ["pending"])
                }
                _ = try await queries.messages(org: nil, states: ["pending"])
                let local = ProjectionStore(projector: OutboxProjector(), directory: dir.path + "/projections", source: .store(store), logger: TestDatabase.logger)
                let postgres = try await ModelDump.postgres(model, url, Self.tables)
                let sqlite = try await ModelDump.sqlite(local, Self.tables)
                #expect(postgres.count > 20)
                #expect(postgres == sqlite)

                // The reads, against OutboxQueries on the SQLite model.
                for org in ["haff", "kite"] {
                    let states = ["pending", "failed", "drafted"]
                    let want = try await BlockingIO.run { () throws(any Error) in try local.read { try OutboxQueries.messages($0, org: org, states: states) } }
                    #expect(try await queries.messages(org: org, states: states) == want)
                    for n in 0..<15 {
                        let external = "wamid.\(n)"
                        for channel in ["whatsapp", "sms", "email"] {
                            let want = try await BlockingIO.run { () throws(any Error) in
                                try local.read { try OutboxQueries.message($0, channel: channel, externalId: external, org: org) }
                            }
                            let got = try await queries.message(channel: channel, externalId: external, org: org)
                            #expect(got?.org == want?.org && got?.messageId == want?.messageId)
                        }
                    }
                }
                for record in try await queries.messages(org: nil, states: ["pending", "failed", "drafted"]) where record.org == "haff" {
                    let found = try #require(try await queries.message(id: record.messageId))
                    #expect(found.messageId == record.messageId)
                }
            }
        }
    }

    /// A report for a message another org sent with the same channel id answers only in that org.
    @Test func aChannelIdIsLookedUpInItsOrgOnly() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                _ = try await store.append([
                    try Self.draft("haff", MessageSent(messageId: "m1", channel: .whatsapp, to: "+49", text: "hallo"), stream: "outbox", ms: 1),
                    try Self.draft("haff", MessageDelivered(messageId: "m1", status: .delivered, externalMessageId: "wamid.X"), stream: "outbox", ms: 2),
                ])
                let queries = PostgresOutboxQueries(model: PostgresReadModel(projector: PostgresOutboxProjector(), store: store, logger: TestDatabase.logger))
                try await queries.model.prepare()
                #expect(try await queries.message(channel: "whatsapp", externalId: "wamid.X", org: "kite") == nil)
                let found = try #require(try await queries.message(channel: "whatsapp", externalId: "wamid.X", org: nil))
                #expect(found.org == "haff" && found.messageId == "m1")
                #expect(try await queries.message(channel: "sms", externalId: "wamid.X", org: "haff") == nil)
                #expect(try await queries.messages(org: "haff", states: ["pending"]).isEmpty, "delivered leaves the outbox")
            }
        }
    }
}
