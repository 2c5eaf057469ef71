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
import SpendProjection
import Testing

/// The spend model in PostgreSQL holds exactly what its SQLite twin holds, built from the same
/// events (the USD sums bit for bit, which a sum added batch-wise would not give), stays one
/// model when two nodes catch it up at once, and is read by a node whose live schema another
/// node swapped away.
@Suite("spend read model in PostgreSQL", .serialized, .enabled(if: TestDatabase.enabled))
struct SpendModelTests {
    static func charge(_ org: String, agent: String, day: String, usd: Double, tokens: Int, messages: Int, id: Int) throws -> EventDraft {
        let payload = CostCharged(agentId: agent, day: day, usd: usd, tokens: tokens, promptTokens: tokens, completionTokens: 0,
                                  messages: messages, model: "m", reservationId: "r\(id)", reservedUsd: usd)
        let encoded = try EventCatalog.standard.encode(payload)
        return EventDraft(org: org, stream: "spend:\(agent):\(day)", type: encoded.type, version: encoded.version, data: Array(encoded.data),
                          timestampMs: 1_764_000_000_000 + Int64(id))
    }

    /// Random charges over three orgs, three agents and four days, with USD figures whose sums
    /// round differently in another order.
    static func charges(_ n: Int, seed: UInt64, from first: Int = 0) throws -> [EventDraft] {
        var random = SeededRandom(seed: seed)
        return try (first..<(first + n)).map { i in
            let usd = Double(Int.random(in: 1...9_999_999, using: &random)) / 1e9 * Double.random(in: 0.5...3, using: &random)
            return try charge("org-\(Int.random(in: 0..<3, using: &random))", agent: ["primary", "sales", "night"].randomElement(using: &random)!,
                              day: "2026-11-2\(Int.random(in: 0..<4, using: &random))", usd: usd, tokens: Int.random(in: 0...4000, using: &random),
                              messages: Int.random(in: 0...1, using: &random), id: i)
        }
    }

    static func append(_ drafts: [EventDraft], to store: PostgresEventStore, per batch: Int) async throws {
        var i = 0
        while i < drafts.count {
            _ = try await store.append(Array(drafts[i..<min(drafts.count, i + batch)]))
            i += batch
        }
    }

    /// The SQLite model built from the same store, as a node's would be.
    static func sqliteRows(_ store: PostgresEventStore, _ dir: TempDir, orgs: [String]) async throws -> [SpendRecord] {
        let model = ProjectionStore(projector: SpendProjector(), directory: dir.path + "/projections", source: .store(store),
                                    logger: TestDatabase.logger)
        return try await BlockingIO.run { () throws(any Error) -> [SpendRecord] in
            _ = try model.catchUp()
            return try orgs.flatMap { org in try model.read { try SpendQueries.spend($0, org: org) } }
        }
    }

    static func postgresRows(_ model: PostgresReadModel, orgs: [String]) async throws -> [SpendRecord] {
        var out: [SpendRecord] = []
        for org in orgs { out += try await PostgresSpendQueries(model: model).spend(org: org, day: nil) }
        return out
    }

    @Test(arguments: [1 as UInt64, 2, 3])
    func theSameRowsAsSQLiteToTheLastBit(seed: UInt64) async throws {
        let dir = TempDir()
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let orgs = ["org-0", "org-1", "org-2"]
                try await Self.append(try Self.charges(600, seed: seed), to: store, per: 37)
                let model = PostgresReadModel(projector: PostgresSpendProjector(), store: store, logger: TestDatabase.logger)
                let built = try await model.prepare()
                #expect(built.rebuilt && built.eventsApplied == 600)
                // More charges after the build, read through the catch-up each read makes: folded
                // onto the stored rows.
                try await Self.append(try Self.charges(400, seed: seed + 100, from: 600), to: store, per: 13)
                let postgres = try await Self.postgresRows(model, orgs: orgs)
                let sqlite = try await Self.sqliteRows(store, dir, orgs: orgs)
                #expect(postgres.count == sqlite.count && postgres.count > 20)
                #expect(postgres == sqlite)
                let day = try #require(sqlite.first)
                let oneDay = try await PostgresSpendQueries(model: model).spend(org: day.org, day: day.day)
                #expect(oneDay.allSatisfy { $0.day == day.day } && oneDay.contains(day))
            }
        }
    }

    /// A charge whose payload lacks a field is skipped and counted, as in the SQLite model; the
    /// rest of its batch is applied.
    @Test func anUnreadableChargeIsSkipped() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                var bad = try Self.charge("haff", agent: "primary", day: "2026-11-25", usd: 0.5, tokens: 5, messages: 1, id: 1)
                bad.data = Array(#"{"agentId":"primary","day":"2026-11-25"}"#.utf8)
                _ = try await store.append([
                    bad, try Self.charge("haff", agent: "primary", day: "2026-11-25", usd: 0.25, tokens: 7, messages: 1, id: 2),
                ])
                let model = PostgresReadModel(projector: PostgresSpendProjector(), store: store, logger: TestDatabase.logger)
                let built = try await model.prepare()
                #expect(built.eventsSkipped == 1 && built.eventsApplied == 1)
                let rows = try await PostgresSpendQueries(model: model).spend(org: "haff", day: "2026-11-25")
                #expect(rows == [SpendRecord(org: "haff", agentId: "primary", day: "2026-11-25", messages: 1, tokens: 7, usd: 0.25)])
            }
        }
    }

    /// Two nodes catching the same org up at once apply each charge once: the checkpoint row
    /// lock makes the second wait and find the charges applied.
    @Test func twoNodesCatchingUpAtOnceCountEachChargeOnce() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { a in
                try await TestDatabase.withStore(url) { b in
                    let nodeA = PostgresReadModel(projector: PostgresSpendProjector(), store: a, logger: TestDatabase.logger)
                    let nodeB = PostgresReadModel(projector: PostgresSpendProjector(), store: b, logger: TestDatabase.logger)
                    try await nodeA.prepare()
                    try await nodeB.prepare()
                    for round in 0..<5 {
                        let drafts = try (0..<40).map {
                            try Self.charge("haff", agent: "primary", day: "2026-11-25", usd: 0.125, tokens: 1, messages: 1, id: round * 100 + $0)
                        }
                        try await Self.append(drafts, to: a, per: 7)
                        async let x = nodeA.catchUp(org: "haff")
                        async let y = nodeB.catchUp(org: "haff")
                        let (applied1, applied2) = try await (x, y)
                        #expect(applied1 + applied2 == 40)
                    }
                    let rows = try await PostgresSpendQueries(model: nodeB).spend(org: "haff", day: nil)
                    #expect(rows == [SpendRecord(org: "haff", agentId: "primary", day: "2026-11-25", messages: 200, tokens: 200, usd: 25)])
                }
            }
        }
    }

    /// Regression: a node that had resolved the live schema went on asking the dropped one after
    /// another node rebuilt the model (the store's own error wraps the driver's "no such
    /// relation", which the retry did not recognize); it now resolves the new schema and asks again.
    @Test func aReaderOnAnotherNodeFollowsARebuild() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { a in
                try await TestDatabase.withStore(url) { b in
                    _ = try await a.append([try Self.charge("haff", agent: "primary", day: "2026-11-25", usd: 1, tokens: 1, messages: 1, id: 1)])
                    let reader = PostgresReadModel(projector: PostgresSpendProjector(), store: a, logger: TestDatabase.logger)
                    let builder = PostgresReadModel(projector: PostgresSpendProjector(), store: b, logger: TestDatabase.logger)
                    try await builder.prepare()
                    let before = try await PostgresSpendQueries(model: reader).spend(org: "haff", day: nil)
                    let first = try await reader.liveSchema()
                    try await builder.rebuild()
                    #expect(try await builder.liveSchema() != first)
                    let after = try await PostgresSpendQueries(model: reader).spend(org: "haff", day: nil)
                    #expect(after == before && after.count == 1)
                    #expect(try await reader.liveSchema() == (try await builder.liveSchema()))
                }
            }
        }
    }
}
