import CRMProjection
import Foundation
import GRDB
import PostgresNIO
import PostgresReadModels
import PostgresStore
import PurserCore
import PurserDomain
import Tools

/// `data_query_tool` on the crm model kept in PostgreSQL against the same query on the node-local
/// SQLite crm model, the same rows in both (`QueryDataset`: `objects` over objects/1,000 orgs,
/// the big org 10% of them), each query as the pipeline asks it: on PostgreSQL
/// `PostgresDataQueries`, which first checks that the org is caught up (one more round trip).
/// Rows go into both stores directly, not through events: the figure is the query path.
func benchDataQuery(_ url: PostgresURL, objects total: Int, runs: Int, work: String) async throws {
    let orgs = max(1, total / 1000)
    let big = max(1, total / 10)
    let path = work + "/crm.sqlite"
    try? FileManager.default.removeItem(atPath: path)
    let store = try await PostgresEventStore.open(url: url, connectionsMax: 4, logger: quiet)
    do {
        let model = PostgresReadModel(projector: PostgresCRMProjector(), store: store, logger: quiet)
        try await model.prepare()
        let schema = "\"" + (try await model.liveSchema()) + "\""
        let t0 = now()
        let writer = try QueryDataset.openSQLite(path)
        var batches: [(String, [QueryDataset.Object], [QueryDataset.Link])] = []
        try QueryDataset.generate(objects: total, orgs: orgs, big: big) { org, objects, links in
            try QueryDataset.write(objects, links, org: org, to: writer)
            batches.append((org, objects, links))
        }
        try writer.close()
        let sqliteSecs = now() - t0
        let t1 = now()
        for (org, objects, links) in batches {
            // In slices, so no one statement's JSON grows past a few megabytes.
            for start in stride(from: 0, to: max(objects.count, links.count), by: 5000) {
                let rows = objects[min(start, objects.count)..<min(start + 5000, objects.count)].map { object in
                    PostgresCRMRow(id: object.id, type: object.type, subtype: nil, name: object.name, status: object.status,
                                   customProperties: object.properties, createdAt: object.createdAt, updatedAt: object.createdAt,
                                   seq: UInt64(object.seq))
                }
                let slice = links[min(start, links.count)..<min(start + 5000, links.count)].map {
                    ObjectLink(from: $0.from, to: $0.to, linkType: $0.linkType)
                }
                try await store.client.withTransaction(logger: quiet) { connection in
                    try await PostgresCRMProjector.write(rows, links: slice, org: org, schema: schema, on: connection, logger: quiet)
                }
            }
        }
        _ = try await store.client.query(PostgresQuery(unsafeSQL: "ANALYZE \(schema).objects"), logger: quiet)
        _ = try await store.client.query(PostgresQuery(unsafeSQL: "ANALYZE \(schema).links"), logger: quiet)
        FileHandle.standardError.write(Data(String(format: "data query: loaded %d objects over %d orgs into SQLite in %.1f s, into PostgreSQL in %.1f s\n",
                                                   total, orgs, sqliteSecs, now() - t1).utf8))
        batches = []

        let reader = try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        let sqlite = DataQueryEngine(reader: reader)
        let postgres = PostgresDataQueries(model: model)
        let org = QueryDataset.bigOrg
        for figure in QueryDataset.figures {
            let query = try DataQuery.parse(figure.query, now: QueryDataset.queryNow)
            let want = try sqlite.run(query, org: org)
            let got = try await postgres.run(query, org: org, scope: .organization)
            if got != want {
                FileHandle.standardError.write(Data("  mismatch on \(figure.name): postgres \(got.serialized().prefix(300)) vs sqlite \(want.serialized().prefix(300))\n".utf8))
            }
            var pgTimes: [Double] = []
            for _ in 0..<runs {
                let s = now()
                _ = try await postgres.run(query, org: org, scope: .organization)
                pgTimes.append(now() - s)
            }
            var sqliteTimes: [Double] = []
            for _ in 0..<runs {
                let s = now()
                _ = try sqlite.run(query, org: org)
                sqliteTimes.append(now() - s)
            }
            let pg = percentiles(pgTimes)
            let base = percentiles(sqliteTimes)
            row("data_query on PostgreSQL: \(figure.name), \(big)-object org of \(total) (p50 / p99 ms, \(runs) runs)",
                String(format: "%.2f / %.2f", pg.p50 * 1000, pg.p99 * 1000),
                "the same query on the node-local SQLite crm model",
                String(format: "%.2f / %.2f", base.p50 * 1000, base.p99 * 1000), String(format: "%.2f× SQLite's time", pg.p50 / base.p50))
        }
        try? FileManager.default.removeItem(atPath: path)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}
