import EventLog
import Foundation
import GRDB
import Projection
import PurserCore
import PurserDomain
import ReadModelCatalog
import SessionsProjection
import SpendProjection
import Testing

/// The framework: exactly-once checkpoints, rebuilds and swaps, catch-up versus rebuild.
@Suite struct FrameworkTests {
    static let all = ReadModelCatalog.projectors

    /// A random but valid stream of pipeline events over a few orgs, sessions and objects.
    static func randomDrafts(_ data: TestData, count: Int, seed: UInt64) throws -> [EventDraft] {
        var rng = SeededRandom(seed: seed)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let orgs = ["haff", "kiel", "sylt"]
        var drafts: [EventDraft] = []
        for _ in 0..<count {
            let org = pick(orgs)
            let session = "s\(rng.next() % 6)"
            let object = "o\(rng.next() % 8)"
            let stream = "session:" + session
            switch rng.next() % 16 {
            case 0:
                let config = ProjectorTests.config(org: org, agent: pick(["primary", "sales"]), address: "+49397712\(rng.next() % 100 + 100)")
                drafts.append(try data.draft(org, "agent:" + config.agentId, AgentConfigured(agentId: config.agentId, revision: Int(rng.next() % 5) + 1, config: config)))
            case 1:
                drafts.append(try data.draft(org, "agent:primary", AgentStatusChanged(agentId: "primary", from: .active, to: pick([.paused, .active]))))
            case 2:
                drafts.append(try data.draft(org, "object:" + object, ObjectCreated(object: OntologyObject(
                    id: object, type: pick(["crm_contact", "booking"]), name: "N\(rng.next() % 100)",
                    customProperties: ["email": .string("x\(rng.next() % 4)@example.de"), "phone": .string("+49170123\(rng.next() % 10)000")]))))
            case 3:
                drafts.append(try data.draft(org, "object:" + object, ObjectUpdated(object: OntologyObject(
                    id: object, type: "crm_contact", status: pick(["active", "archived"]), customProperties: ["n": .number(Double(rng.next() % 9))]))))
            case 4:
                if rng.next() % 3 == 0 {
                    drafts.append(try data.draft(org, "object:" + object, ObjectDeleted(id: object, objectType: "crm_contact")))
                } else {
                    drafts.append(try data.draft(org, "links:" + object, LinkCreated(link: ObjectLink(from: object, to: "o\(rng.next() % 8)", linkType: "bookings"))))
                }
            case 5:
                drafts.append(try data.draft(org, stream, MessageReceived(channel: .whatsapp, from: "+4917012345\(rng.next() % 10)", to: "+4939771234567",
                                                                          text: "Frage \(rng.next() % 1000)", receivedAt: Timestamp(millisecondsSinceEpoch: 0),
                                                                          agentId: "primary", sessionId: session), actor: Actor(.customer, "c")))
            case 6:
                drafts.append(try data.draft(org, stream, SessionOpened(sessionId: session, agentId: "primary", channel: .whatsapp, externalContactId: "+491701234567")))
            case 7:
                let trigger: SessionHandedOff.Trigger = pick([.takeover, .guardrail])
                switch rng.next() % 3 {
                case 0: drafts.append(try data.draft(org, stream, SessionHandedOff(sessionId: session, trigger: trigger, reason: "r", handedOffTo: "anna")))
                case 1: drafts.append(try data.draft(org, stream, SessionReleased(sessionId: session, releasedBy: "anna")))
                default: drafts.append(try data.draft(org, stream, SessionClosed(sessionId: session, reason: "done")))
                }
            case 8:
                drafts.append(try data.draft(org, stream, LLMCompleted(agentId: "primary", sessionId: session, provider: "offline", model: "m",
                                                                       promptTokens: Int(rng.next() % 500), completionTokens: Int(rng.next() % 50),
                                                                       costUsd: Double(rng.next() % 100) / 1000, costSource: .free, latencyMs: 1)))
            case 9:
                drafts.append(try data.draft(org, "spend:primary", CostCharged(agentId: pick(["primary", "sales"]), sessionId: session,
                                                                               day: pick(["2026-11-25", "2026-11-26"]), usd: Double(rng.next() % 100) / 1000,
                                                                               tokens: Int(rng.next() % 500), promptTokens: 1, completionTokens: 1,
                                                                               messages: Int(rng.next() % 2), model: "m", reservationId: "r", reservedUsd: 1)))
            case 10:
                let call = "call\(rng.next() % 10)"
                drafts.append(try data.draft(org, stream, ToolRequested(agentId: "primary", sessionId: session, callId: call, tool: "data_query_tool",
                                                                        arguments: ["objectType": "booking"])))
            case 11:
                let call = "call\(rng.next() % 10)"
                if rng.next() % 2 == 0 {
                    drafts.append(try data.draft(org, stream, ToolExecuted(agentId: "primary", sessionId: session, callId: call, tool: "data_query_tool",
                                                                           arguments: ["objectType": "booking"], result: ["total": .number(Double(rng.next() % 5))], durationMs: 2)))
                } else {
                    drafts.append(try data.draft(org, stream, ToolFailed(agentId: "primary", sessionId: session, callId: call, tool: "booking_tool",
                                                                         arguments: [:], error: "conflict", durationMs: 1)))
                }
            case 12:
                let id = "apr\(rng.next() % 5)"
                switch rng.next() % 4 {
                case 0: drafts.append(try data.draft(org, stream, ApprovalRequested.sample(id, session: session, call: "call\(rng.next() % 10)")))
                case 1: drafts.append(try data.draft(org, stream, ApprovalGranted(approvalId: id, decidedBy: "anna")))
                case 2: drafts.append(try data.draft(org, stream, ApprovalRejected(approvalId: id, decidedBy: "ben", reason: "no")))
                default: drafts.append(try data.draft(org, stream, ApprovalExpired(approvalId: id, expiresAt: Timestamp(millisecondsSinceEpoch: 5))))
                }
            case 13:
                let id = "m\(rng.next() % 10)"
                drafts.append(try data.draft(org, stream, MessageSent(messageId: id, agentId: "primary", sessionId: session, channel: .whatsapp,
                                                                      to: "+491701234567", text: "Antwort \(id)"), actor: Actor(.agent, "primary")))
            case 14:
                let id = "m\(rng.next() % 10)"
                if rng.next() % 2 == 0 {
                    drafts.append(try data.draft(org, stream, MessageDrafted(messageId: id, agentId: "primary", sessionId: session, channel: .whatsapp,
                                                                             to: "+491701234567", text: "Entwurf")))
                } else {
                    drafts.append(try data.draft(org, stream, MessageDelivered(messageId: id, status: pick([.delivered, .failed]))))
                }
            default:
                drafts.append(try data.draft(org, stream, GuardrailTripped(agentId: "primary", sessionId: session, guardrail: .blockedTopic, detail: "politics")))
            }
        }
        return drafts
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func rebuildFromScratchEqualsIncrementalApplication(seed: UInt64) throws {
        let data = TestData()
        let drafts = try Self.randomDrafts(data, count: 600, seed: seed)
        var rng = SeededRandom(seed: seed + 100)
        let incremental = Self.all.map { data.store($0, directory: data.path + "/incremental") }
        var i = 0
        while i < drafts.count {
            let n = Int(rng.next() % 40) + 1
            try data.append(Array(drafts[i..<min(drafts.count, i + n)]))
            i += n
            // Catch up some models after each chunk, the others later: any interleaving must give the same rows.
            for store in incremental where rng.next() % 2 == 0 { try store.catchUp() }
        }
        for store in incremental { try store.catchUp() }
        let rebuilt = Self.all.map { data.store($0, directory: data.path + "/rebuilt") }
        _ = try ProjectionSet.runBlocking(rebuilt, rebuild: true)
        for (a, b) in zip(incremental, rebuilt) {
            let da = try dump(a), db = try dump(b)
            #expect(da == db, "\(a.name) differs between incremental application and rebuild (seed \(seed))")
            #expect(da.values.contains { !$0.isEmpty }, "\(a.name) has rows")
            #expect(try a.status().checkpoint == UInt64(drafts.count))
        }
    }

    /// Spend with a different schema version, and optionally a gate that holds the rebuild at
    /// one seq so a test can look at the files meanwhile.
    struct GatedSpend: Projector {
        let version: Int
        let gate: Gate?
        var name: String { "spend" }
        var schemaVersion: Int { version }
        var schemaSQL: String { SpendProjector().schemaSQL }
        var eventTypes: Set<String> { SpendProjector().eventTypes }
        func apply(_ event: ProjectedEvent, _ db: Database) throws {
            if let gate, event.seq == gate.seq { gate.arriveAndWait() }
            try SpendProjector().apply(event, db)
        }
    }

    final class Gate: @unchecked Sendable {
        let seq: UInt64
        let arrived = DispatchSemaphore(value: 0)
        let proceed = DispatchSemaphore(value: 0)
        init(seq: UInt64) { self.seq = seq }
        func arriveAndWait() {
            arrived.signal()
            proceed.wait()
        }
    }

    static func charge(_ messages: Int = 1) -> CostCharged {
        CostCharged(agentId: "primary", day: "2026-11-25", usd: 0.01, tokens: 10, promptTokens: 10, completionTokens: 0,
                    messages: messages, model: "m", reservationId: "r", reservedUsd: 0.01)
    }

    static func totalMessages(_ store: ProjectionStore) throws -> Int {
        try store.read { try Int.fetchOne($0, sql: "SELECT coalesce(sum(messages), 0) FROM spend") ?? -1 }
    }

    @Test func schemaVersionBumpRebuildsWhileTheOldFileStaysReadable() throws {
        let data = TestData()
        try data.append((0..<50).map { _ in try data.draft("haff", "spend:primary", Self.charge()) })
        let v1 = data.store(GatedSpend(version: 1, gate: nil))
        try v1.catchUp()
        try data.append((0..<50).map { _ in try data.draft("haff", "spend:primary", Self.charge()) })

        let gate = Gate(seq: 80)
        let v2 = data.store(GatedSpend(version: 2, gate: gate))
        let done = DispatchSemaphore(value: 0)
        let result = LockedBox<Result<CatchUpReport, any Error>>()
        Thread {
            result.value = Result { try v2.catchUp() }
            done.signal()
        }.start()
        gate.arrived.wait()
        // Mid-rebuild: the new file is being written beside the old one, which still answers.
        #expect(FileManager.default.fileExists(atPath: v2.path + ".rebuild"))
        #expect(try Self.totalMessages(v1) == 50)
        #expect(try v1.read { try Int.fetchOne($0, sql: "SELECT schema_version FROM projection_meta") } == 1)
        gate.proceed.signal()
        done.wait()
        let report = try result.value!.get()
        #expect(report.rebuilt && report.rebuildReason == "schema version 1 → 2")
        #expect(!FileManager.default.fileExists(atPath: v2.path + ".rebuild"))
        #expect(try Self.totalMessages(v2) == 100)
        let status = try v2.status()
        #expect(status.storedSchemaVersion == 2 && status.checkpoint == 100 && status.lag == 0)
        // Back at version 2 nothing is rebuilt again.
        #expect(try v2.catchUp().rebuilt == false)
    }

    /// A projector that fails (not a decoding problem: the batch must be abandoned) at one seq.
    struct FailingSpend: Projector {
        let failAt: UInt64
        var name: String { "spend" }
        var schemaVersion: Int { SpendProjector.schemaVersion }
        var schemaSQL: String { SpendProjector().schemaSQL }
        var eventTypes: Set<String> { SpendProjector().eventTypes }
        struct Boom: Error {}
        func apply(_ event: ProjectedEvent, _ db: Database) throws {
            try SpendProjector().apply(event, db)
            if event.seq == failAt { throw Boom() }
        }
    }

    @Test func aFailureMidBatchKeepsNothingOfTheBatchAndNeverDoubleApplies() throws {
        let data = TestData()
        try data.append((0..<10).map { _ in try data.draft("haff", "spend:primary", Self.charge()) })
        try data.store(SpendProjector()).catchUp()
        let total = ProjectionLimits.catchUpBatchEvents * 2 + 500
        try data.append((0..<total).map { _ in try data.draft("haff", "spend:primary", Self.charge()) })
        let failAt = UInt64(10 + ProjectionLimits.catchUpBatchEvents + 1234)
        #expect(throws: (any Error).self) { try data.store(FailingSpend(failAt: failAt)).catchUp() }
        let store = data.store(SpendProjector())
        let checkpoint = try store.status().checkpoint
        #expect(checkpoint == UInt64(10 + ProjectionLimits.catchUpBatchEvents), "the first full batch committed, the failed one not at all")
        #expect(try Self.totalMessages(store) == Int(checkpoint))
        try store.catchUp()
        #expect(try Self.totalMessages(store) == 10 + total)
        #expect(try store.status().checkpoint == UInt64(10 + total))
    }

    /// The sessions projector on a disk that fills up: SQLite's own `max_page_count` stops the
    /// file from growing from `fullAt` on, as ENOSPC would, and every write then fails with
    /// SQLITE_FULL inside the batch's transaction.
    struct DiskFullSessions: Projector {
        let fullAt: UInt64
        var name: String { SessionsProjector.name }
        var schemaVersion: Int { SessionsProjector.schemaVersion }
        var schemaSQL: String { SessionsProjector().schemaSQL }
        var eventTypes: Set<String> { SessionsProjector().eventTypes }
        func apply(_ event: ProjectedEvent, _ db: Database) throws {
            if event.seq == fullAt {
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1
                _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages)")
            }
            try SessionsProjector().apply(event, db)
        }
    }

    /// Regression guard for issue 8 item 1: a projection whose disk fills keeps its last committed
    /// batch and checkpoint (the failed batch rolls back whole), and catches up once space is back.
    @Test func aDiskFullDuringCatchUpRollsBackTheBatchAndKeepsTheCheckpoint() throws {
        let data = TestData()
        func received(_ i: Int) throws -> EventDraft {
            try data.draft("haff", "session:s1", MessageReceived(channel: .whatsapp, from: "+491701234567", to: "+4939771234567",
                                                                 text: "Nachricht \(i) " + String(repeating: "Segeln am Haff. ", count: 120),
                                                                 receivedAt: Timestamp(millisecondsSinceEpoch: Int64(1_764_064_800_000 + i)),
                                                                 agentId: "primary", sessionId: "s1"))
        }
        try data.append((0..<10).map(received))
        try data.store(SessionsProjector()).catchUp()
        try data.append((10..<400).map(received))
        do {
            try data.store(DiskFullSessions(fullAt: 11)).catchUp()
            Issue.record("the catch-up did not notice the full disk")
        } catch {
            #expect("\(error)".lowercased().contains("full"), "\(error)")
        }
        let store = data.store(SessionsProjector())
        #expect(try store.status().checkpoint == 10)
        #expect(try store.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM transcript") } == 10)
        try store.catchUp()
        #expect(try store.status().checkpoint == 400)
        #expect(try store.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM transcript") } == 400)
    }

    @Test func aCheckpointBeyondTheLogsEndRebuilds() throws {
        let data = TestData()
        try data.append((0..<30).map { _ in try data.draft("haff", "spend:primary", Self.charge()) })
        let store = data.store(SpendProjector())
        try store.catchUp()
        // The log loses its tail: replaced by a shorter one.
        data.closeLog()
        try FileManager.default.removeItem(atPath: data.logDirectory)
        try data.append((0..<12).map { _ in try data.draft("haff", "spend:primary", Self.charge(2)) })
        #expect(try store.status().needsRebuild)
        let report = try store.catchUp()
        #expect(report.rebuilt)
        #expect(report.rebuildReason?.contains("beyond the log") == true)
        #expect(try Self.totalMessages(store) == 24)
    }

    @Test func followAppliesNewEventsUntilCancelled() async throws {
        let data = TestData()
        let store = data.store(SpendProjector())
        try data.append("haff", "spend:primary", Self.charge())
        let task = Task { try await store.follow(pollInterval: .milliseconds(10)) }
        for _ in 0..<5 { try data.append("haff", "spend:primary", Self.charge()) }
        var waited = 0
        while (try? store.status().checkpoint) != 6, waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        task.cancel()
        try await task.value
        #expect(try Self.totalMessages(store) == 6)
    }

    @Test func statusOfAModelNeverBuilt() throws {
        let data = TestData()
        try data.append("haff", "spend:primary", Self.charge())
        let status = try data.store(SpendProjector()).status()
        #expect(status.storedSchemaVersion == nil && status.checkpoint == 0 && status.logHead == 1 && status.lag == 1 && status.needsRebuild)
        #expect(throws: ProjectionError.self) { try data.store(SpendProjector()).read { _ in 0 } }
    }

    @Test func unknownNamesAreRefused() throws {
        let set = ProjectionSet(projectors: Self.all, dataDirectory: "/nonexistent", logger: quietLogger)
        #expect(try set.select([]).count == Self.all.count)
        #expect(try set.select(["crm", "spend"]).map(\.name) == ["crm", "spend"])
        #expect(throws: ProjectionError.self) { try set.select(["nope"]) }
    }
}

final class LockedBox<T>: @unchecked Sendable {
    private let stored = Locked<T?>(nil)
    var value: T? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
