import EventLog
import EventStore
import Foundation
import GRDB
import PostgresStore
import PostgresTestSupport
import Projection
import PurserCore
import ReadModelCatalog
import SpendProjection
import Testing

/// Read models fed from PostgreSQL through the storage seam: the same rows as from the embedded
/// log, one checkpoint per org that survives a restart, nothing applied twice, orgs that appear
/// later picked up. Skipped without `PURSER_TEST_DATABASE_URL` (failed under CI).
@Suite(.enabled(if: TestDatabase.enabled)) struct StoreSourceTests {
    /// A catch-up off the cooperative pool, as the framework's callers run it.
    static func catchUp(_ store: ProjectionStore) async throws -> CatchUpReport {
        try await BlockingIO.run { () throws(any Error) -> CatchUpReport in try store.catchUp() }
    }

    static func status(_ store: ProjectionStore) async throws -> ProjectionStatus {
        try await BlockingIO.run { () throws(any Error) -> ProjectionStatus in try store.status() }
    }

    static func append(_ drafts: [EventDraft], to store: any EventStore) async throws {
        var i = 0
        while i < drafts.count {
            let end = min(drafts.count, i + 1000)
            _ = try await store.append(Array(drafts[i..<end]))
            i = end
        }
    }

    static func spendStore(_ data: TestData, _ pg: any EventStore) -> ProjectionStore {
        ProjectionStore(projector: SpendProjector(), directory: data.path + "/pg-projections", source: .store(pg), logger: quietLogger)
    }

    /// Every row of a model with the framework's own tables left out (their positions are the
    /// source's), so two models built from the same events compare equal.
    static func modelRows(_ store: ProjectionStore) throws -> [String: [String]] {
        try dump(store).filter { !$0.key.hasPrefix("projection_") }
    }

    /// Each table's rows per org (tables without an org column left out).
    static func rowsPerOrg(_ store: ProjectionStore) throws -> [String: Int] {
        try store.read { db in
            var out: [String: Int] = [:]
            let tables = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'projection_%'
                """)
            for table in tables where try db.columns(in: table).contains(where: { $0.name == "org" }) {
                for row in try Row.fetchAll(db, sql: "SELECT org, count(*) AS n FROM \(table) GROUP BY org") {
                    out[table + "/" + (row["org"] as String)] = row["n"]
                }
            }
            return out
        }
    }

    /// Regression: a row keyed by its event's position must be keyed by org as well, since on
    /// PostgreSQL every org counts its own positions (1, 2, 3, …). Several orgs' events at the
    /// same positions keep every org's rows: the activity log and the transcripts, keyed by the
    /// position alone, lost one org's lines to another's.
    @Test func orgsAtTheSamePositionsEachKeepTheirOwnRows() async throws {
        let data = TestData()
        let drafts = try FrameworkTests.randomDrafts(data, count: 1200, seed: 21)
        try data.append(drafts)
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { pg in
                try await Self.append(drafts, to: pg)
                let fromLog = FrameworkTests.all.map { data.store($0) }
                _ = try await ProjectionSet.run(fromLog, rebuild: true)
                let fromPG = FrameworkTests.all.map {
                    ProjectionStore(projector: $0, directory: data.path + "/pg-projections", source: .store(pg), logger: quietLogger)
                }
                _ = try await ProjectionSet.run(fromPG, rebuild: true)
                for (a, b) in zip(fromLog, fromPG) {
                    let perOrgA = try Self.rowsPerOrg(a), perOrgB = try Self.rowsPerOrg(b)
                    #expect(perOrgA.count > 0, "\(a.name) holds rows")
                    #expect(perOrgA == perOrgB, "\(a.name)")
                }
            }
        }
    }

    @Test func oneOrgsEventsGiveIdenticalRowsFromTheLogAndFromPostgreSQLCaughtUpInSteps() async throws {
        let data = TestData()
        // One org, so its positions in PostgreSQL are the log's seqs and rows that keep a seq agree.
        let drafts = try FrameworkTests.randomDrafts(data, count: 1500, seed: 7).map { d -> EventDraft in
            var d = d
            d.org = "haff"
            return d
        }
        try data.append(drafts)
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { pg in
                let fromLog = FrameworkTests.all.map { data.store($0) }
                _ = try await ProjectionSet.run(fromLog, rebuild: true)
                let fromPG = FrameworkTests.all.map {
                    ProjectionStore(projector: $0, directory: data.path + "/pg-projections", source: .store(pg), logger: quietLogger)
                }
                // Appended in three parts, caught up after each: the catch-ups continue, never rebuild.
                for (n, part) in [drafts[..<400], drafts[400..<1100], drafts[1100...]].enumerated() {
                    try await Self.append(Array(part), to: pg)
                    let reports = try await ProjectionSet.run(fromPG, rebuild: false)
                    for r in reports {
                        #expect(r.rebuilt == (n == 0), "\(r.name): \(r.rebuildReason ?? "")")
                        #expect(r.eventsScanned == part.count, "\(r.name)")
                        #expect(r.orgCheckpoints == ["haff": UInt64(part.endIndex)])
                    }
                }
                for (a, b) in zip(fromLog, fromPG) {
                    let rowsA = try Self.modelRows(a), rowsB = try Self.modelRows(b)
                    let holdsRows = rowsA.values.contains { !$0.isEmpty }
                    #expect(holdsRows, "\(a.name) holds rows")
                    #expect(rowsA == rowsB, "\(a.name)")
                }
            }
        }
    }

    @Test func severalOrgsSpendAlikeFromTheLogAndFromPostgreSQL() async throws {
        let data = TestData()
        let drafts = try FrameworkTests.randomDrafts(data, count: 2000, seed: 11)
        try data.append(drafts)
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { pg in
                try await Self.append(drafts, to: pg)
                let fromLog = data.store(SpendProjector())
                let fromPG = Self.spendStore(data, pg)
                _ = try await ProjectionSet.run([fromLog, fromPG], rebuild: true)
                #expect(try Self.modelRows(fromLog) == Self.modelRows(fromPG))
                #expect(try FrameworkTests.totalMessages(fromPG) > 0)
            }
        }
    }

    @Test func perOrgCheckpointsSurviveARestartAndACatchUpAppliesOnlyTheNewEvents() async throws {
        let data = TestData()
        func charges(_ org: String, _ n: Int) throws -> [EventDraft] {
            try (0..<n).map { _ in try data.draft(org, "spend:primary", FrameworkTests.charge()) }
        }
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { pg in
                try await Self.append(try charges("haff", 30) + charges("kiel", 20), to: pg)
                let first = try await Self.catchUp(Self.spendStore(data, pg))
                #expect(first.rebuilt && first.eventsApplied == 50)
                #expect(first.orgCheckpoints == ["haff": 30, "kiel": 20])
            }
            // A restart: a new connection to the store, a new model object over the same file.
            try await TestDatabase.withStore(url) { pg in
                let model = Self.spendStore(data, pg)
                var status = try await Self.status(model)
                #expect(status.orgCheckpoints == ["haff": 30, "kiel": 20] && status.lag == 0 && !status.needsRebuild)
                #expect(try await Self.catchUp(model).eventsScanned == 0)

                try await Self.append(try charges("haff", 5), to: pg)
                status = try await Self.status(model)
                #expect(status.lag == 5 && status.orgHeads == ["haff": 35, "kiel": 20] && status.checkpoint == 50 && status.logHead == 55)
                let more = try await Self.catchUp(model)
                #expect(!more.rebuilt && more.eventsScanned == 5 && more.eventsApplied == 5)
                #expect(more.orgCheckpoints == ["haff": 35, "kiel": 20])
                // Each charge counts one message: no event was applied twice.
                #expect(try FrameworkTests.totalMessages(model) == 55)

                // An org whose first events come after the model was built.
                try await Self.append(try charges("sylt", 7), to: pg)
                let later = try await Self.catchUp(model)
                #expect(!later.rebuilt && later.eventsApplied == 7 && later.orgCheckpoints["sylt"] == 7)
                #expect(try FrameworkTests.totalMessages(model) == 62)
                #expect(try rows(model, "SELECT org FROM projection_org_checkpoints ORDER BY org").map { $0[0] as String } == ["haff", "kiel", "sylt"])
            }
        }
    }

    @Test func aModelBuiltFromAnotherSourceIsRebuiltNotContinued() async throws {
        let data = TestData()
        let drafts = try (0..<40).map { _ in try data.draft("haff", "spend:primary", FrameworkTests.charge()) }
        try data.append(drafts)
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { pg in
                try await Self.append(Array(drafts.prefix(25)), to: pg)
                // The same file, first fed from the log, then from PostgreSQL, then from the log again.
                let fromLog = data.store(SpendProjector(), directory: data.path + "/pg-projections")
                #expect(try await Self.catchUp(fromLog).eventsApplied == 40)
                let fromPG = Self.spendStore(data, pg)
                #expect(try await Self.status(fromPG).sourceChanged)
                let switched = try await Self.catchUp(fromPG)
                #expect(switched.rebuilt && switched.rebuildReason?.contains("now fed from") == true, "\(switched.rebuildReason ?? "")")
                #expect(try FrameworkTests.totalMessages(fromPG) == 25)
                let back = try await Self.catchUp(fromLog)
                #expect(back.rebuilt && back.eventsApplied == 40)
                #expect(try FrameworkTests.totalMessages(fromLog) == 40)
            }
        }
    }
}
