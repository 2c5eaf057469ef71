import EventLog
import Foundation
import GRDB
import Logging
import PostgresNIO
import PostgresReadModels
import PostgresStore
import PostgresTestSupport
import PurserCore
import PurserDomain
import Testing
@testable import Tools

/// The crm model in PostgreSQL answers every query exactly as the SQLite model does (the whole
/// result, items, totals, aggregates and groups, compared as JSON), and both agree with the
/// reference evaluator: the same random datasets and queries as `DifferentialTests`, the other
/// org's rows with the same ids beside them.
@Suite("data_query_tool on PostgreSQL", .serialized, .enabled(if: TestDatabase.enabled))
struct PostgresDifferentialTests {
    static func row(_ object: TestObject, seq: Int) -> PostgresCRMRow {
        PostgresCRMRow(id: object.id, type: object.type, subtype: object.subtype, name: object.name, status: object.status,
                       customProperties: object.customProperties, createdAt: object.createdAt, updatedAt: object.updatedAt,
                       deleted: object.deleted, seq: UInt64(seq))
    }

    /// Writes `orgs` into the live schema of a freshly prepared crm model in PostgreSQL.
    static func load(_ model: PostgresReadModel, _ orgs: [OrgID: ([TestObject], [TestLink])]) async throws {
        try await model.prepare()
        let schema = "\"" + (try await model.liveSchema()) + "\""
        let logger = TestDatabase.logger
        try await model.store.client.withTransaction(logger: logger) { connection in
            for (org, content) in orgs {
                try await PostgresCRMProjector.write(content.0.enumerated().map { row($0.element, seq: $0.offset + 1) },
                                                     links: content.1.map { ObjectLink(from: $0.from, to: $0.to, linkType: $0.linkType) },
                                                     org: org, schema: schema, on: connection, logger: logger)
            }
        }
    }

    @Test(arguments: 0..<6)
    func postgresAgreesWithSQLiteAndTheReference(seed: Int) async throws {
        var rng = SeededRandom(seed: UInt64(seed) &* 7919 &+ 17)
        let count = Int.random(in: 5...60, using: &rng)
        let mine = (0..<count).map { DifferentialTests.randomObject($0, &rng) }
        let theirs = (0..<(count + 20)).map { DifferentialTests.randomObject($0, &rng) }
        let sqlite = DataQueryEngine(reader: try CRMStore.make(["org_a": (mine, []), "org_b": (theirs, [])]))
        let reference = ReferenceEvaluator(objects: mine)
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let model = PostgresReadModel(projector: PostgresCRMProjector(), store: store, logger: TestDatabase.logger)
                try await Self.load(model, ["org_a": (mine, []), "org_b": (theirs, [])])
                let postgres = PostgresDataQueries(model: model)
                var checked = 0
                for round in 0..<150 {
                    let json = DifferentialTests.randomQuery(&rng)
                    guard let query = try? DataQuery.parse(json, now: DifferentialTests.now) else { continue }
                    checked += 1
                    let context = "seed \(seed) round \(round): \(json.serialized())"
                    let got = try await postgres.run(query, org: "org_a", scope: .organization)
                    let want = try sqlite.run(query, org: "org_a")
                    #expect(got == want, "\(context)\n postgres: \(got.serialized())\n sqlite:   \(want.serialized())")
                    #expect(got["total"]?.intValue == reference.page(query).total, "\(context)")
                    #expect(got.itemIDs == reference.page(query).ids, "\(context)")
                }
                #expect(checked > 50)
            }
        }
    }

    /// A customer's conversation sees the same rows on both stores: their own record, what is
    /// linked to them or names them, and the catalog, never another customer's bookings.
    @Test func aCustomersScopeIsTheSameOnBothStores() async throws {
        let at = "2026-11-20T10:00:00Z"
        let objects = [
            TestObject(id: "c1", type: "crm_contact", name: "Anna", customProperties: [:], createdAt: at, updatedAt: at),
            TestObject(id: "c2", type: "crm_contact", name: "Ben", customProperties: [:], createdAt: at, updatedAt: at),
            TestObject(id: "b1", type: "booking", customProperties: ["contactId": "c1"], createdAt: at, updatedAt: at),
            TestObject(id: "b2", type: "booking", customProperties: ["contactId": "c2"], createdAt: at, updatedAt: at),
            TestObject(id: "b3", type: "booking", customProperties: [:], createdAt: at, updatedAt: at),
            TestObject(id: "b4", type: "booking", customProperties: [:], createdAt: at, updatedAt: at),
            TestObject(id: "b5", type: "booking", customProperties: ["contactId": 1], createdAt: at, updatedAt: at),
            TestObject(id: "p1", type: "product", name: "Kurs", customProperties: [:], createdAt: at, updatedAt: at),
        ]
        let links = [TestLink(from: "b3", linkType: "contact", to: "c1"), TestLink(from: "b4", linkType: "contact", to: "c2")]
        let sqlite = DataQueryEngine(reader: try CRMStore.make(["org_a": (objects, links)]))
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let model = PostgresReadModel(projector: PostgresCRMProjector(), store: store, logger: TestDatabase.logger)
                try await Self.load(model, ["org_a": (objects, links)])
                let postgres = PostgresDataQueries(model: model)
                for scope in [RowScope.customer(contactId: "c1"), .customer(contactId: "c2"), .customer(contactId: nil), .organization] {
                    for type in ["crm_contact", "booking", "product"] {
                        let query = try DataQuery.parse(["objectType": .string(type), "includeRelated": ["contact"]], now: DifferentialTests.now)
                        let got = try await postgres.run(query, org: "org_a", scope: scope)
                        let want = try await sqlite.run(query, org: "org_a", scope: scope)
                        #expect(got == want, "\(scope) \(type): \(got.serialized()) vs \(want.serialized())")
                    }
                }
                let bookings = try await postgres.run(try DataQuery.parse(["objectType": "booking"], now: DifferentialTests.now), org: "org_a",
                                                      scope: .customer(contactId: "c1"))
                #expect(bookings.itemIDs == ["b1", "b3"])
                let other = try await postgres.run(try DataQuery.parse(["objectType": "booking"], now: DifferentialTests.now), org: "org_b",
                                                   scope: .organization)
                #expect(other["total"]?.intValue == 0)
            }
        }
    }
}

/// The crm model in PostgreSQL built from events: catch-up, deletes and links, a rebuild swapped
/// in while the old schema answers, and the status `purser projections status` prints.
@Suite("crm read model in PostgreSQL", .serialized, .enabled(if: TestDatabase.enabled))
struct PostgresCRMModelTests {
    static func draft<P: EventPayload>(_ org: String, _ payload: P, ms: Int64) throws -> EventDraft {
        let encoded = try EventCatalog.standard.encode(payload)
        return EventDraft(org: org, stream: "ontology", type: encoded.type, version: encoded.version, data: Array(encoded.data), timestampMs: ms)
    }

    static let day = Timestamp(iso8601: "2026-11-20T10:00:00Z")!.millisecondsSinceEpoch

    static func contact(_ id: String, _ name: String, city: String) -> OntologyObject {
        OntologyObject(id: id, type: "crm_contact", name: name, customProperties: ["city": .string(city), "email": .string("\(id)@example.org")])
    }

    @Test func eventsCatchUpRebuildAndSwap() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                _ = try await store.append([
                    try Self.draft("haff", ObjectCreated(object: Self.contact("c1", "Anna Müller", city: "Kiel")), ms: Self.day),
                    try Self.draft("haff", ObjectCreated(object: Self.contact("c2", "Ben", city: "Berlin")), ms: Self.day + 1),
                    try Self.draft("haff", ObjectCreated(object: OntologyObject(id: "b1", type: "booking", customProperties: ["contactId": "c1"])), ms: Self.day + 2),
                    try Self.draft("haff", LinkCreated(link: ObjectLink(from: "b1", to: "c1", linkType: "contact")), ms: Self.day + 3),
                    try Self.draft("kite", ObjectCreated(object: Self.contact("c1", "Other Org", city: "Kiel")), ms: Self.day + 4),
                ])
                let model = PostgresReadModel(projector: PostgresCRMProjector(), store: store, logger: TestDatabase.logger)
                let built = try await model.prepare()
                #expect(built.rebuilt && built.eventsApplied == 5)
                let queries = PostgresDataQueries(model: model)
                let kiel = try DataQuery.parse(["objectType": "crm_contact", "filters": [["field": "customProperties.city", "op": "eq", "value": "Kiel"]]],
                                               now: DifferentialTests.now)
                #expect(try await queries.run(kiel, org: "haff", scope: .organization).itemIDs == ["c1"])
                let muller = try DataQuery.parse(["objectType": "crm_contact", "filters": [["field": "name", "op": "contains", "value": "MULLER"]]],
                                                 now: DifferentialTests.now)
                #expect(try await queries.run(muller, org: "haff", scope: .organization).itemIDs == ["c1"])

                // Written after the build: the next query catches the org up first.
                _ = try await store.append([
                    try Self.draft("haff", ObjectUpdated(object: Self.contact("c2", "Ben", city: "Kiel")), ms: Self.day + 10),
                    try Self.draft("haff", ObjectDeleted(id: "c1", objectType: "crm_contact"), ms: Self.day + 11),
                ])
                #expect(try await queries.run(kiel, org: "haff", scope: .organization).itemIDs == ["c2"])
                let related = try DataQuery.parse(["objectType": "booking", "includeRelated": ["contact"]], now: DifferentialTests.now)
                let bookings = try await queries.run(related, org: "haff", scope: .organization)
                #expect(bookings["items"]?[0]?["related"]?["contact"]?.arrayValue?.isEmpty == true, "the deleted contact's link went with it")
                #expect(try await queries.run(kiel, org: "kite", scope: .organization).itemIDs == ["c1"])

                let first = try #require(try await model.registration())
                #expect(first.generation == 1)
                let rebuilt = try await model.rebuild()
                #expect(rebuilt.eventsApplied == 7)
                let second = try #require(try await model.registration())
                #expect(second.generation == 2 && second.schema != first.schema)
                #expect(try await queries.run(kiel, org: "haff", scope: .organization).itemIDs == ["c2"])
                let old = try await TestDatabase.withClient(url) { client in
                    try await client.query("SELECT count(*)::int FROM pg_namespace WHERE nspname = \(first.schema)").collect().first?.decode(Int.self)
                }
                #expect(old == 0, "the replaced schema is dropped when the new one is swapped in")

                let status = try await model.status()
                #expect(status.storedSchemaVersion == 1 && !status.needsRebuild)
                #expect(status.heads == ["haff": 6, "kite": 1] && status.lag == 0)
            }
        }
    }

    /// A model kept by a newer Purser is refused, not rebuilt under it.
    @Test func aNewerModelVersionIsRefused() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let model = PostgresReadModel(projector: PostgresCRMProjector(), store: store, logger: TestDatabase.logger)
                try await model.prepare()
                _ = try await TestDatabase.withClient(url) { client in
                    try await client.query("UPDATE purser_read_models SET version = 99 WHERE name = 'crm'")
                }
                await #expect(throws: PostgresReadModelError.self) { try await model.prepare() }
            }
        }
    }
}
