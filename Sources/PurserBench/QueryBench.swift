import CRMProjection
import Foundation
import GRDB
import PurserCore
import PurserDomain
import Tools

/// purser-bench query [--objects N] [--orgs N] [--big N] [--runs N] [--work DIR]: the data query
/// tool's latency (issue #4, item 6) on a `crm` read model of N objects over 1,000 orgs, one org
/// holding `--big` of them (contacts and bookings, each booking linked to its contact), against
/// a full scan of that org's rows evaluated in Swift.
///
/// Rows are written straight into the crm schema (CRMProjector's), in big transactions, not
/// through the event log: the figure is the query path, not the projector.
func runQueryBench(objects total: Int, orgs: Int, big: Int, runs: Int, work: String) throws {
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let path = work + "/crm.sqlite"
    let bigOrg = QueryDataset.bigOrg

    // Load.
    let t0 = now()
    let writer = try QueryDataset.openSQLite(path)
    try QueryDataset.generate(objects: total, orgs: orgs, big: big) { org, objects, links in
        try QueryDataset.write(objects, links, org: org, to: writer)
    }
    try writer.close()
    let loadSecs = now() - t0

    let reader = try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
    let engine = DataQueryEngine(reader: reader)
    let bigCount = try reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE org = ?", arguments: [bigOrg]) ?? 0 }
    let allCount = try reader.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects") ?? 0 }
    FileHandle.standardError.write(Data("loaded \(allCount) objects over \(orgs) orgs (\(bigCount) in \(bigOrg)) in \(String(format: "%.1f", loadSecs)) s\n".utf8))

    let queryNow = QueryDataset.queryNow
    let figures = QueryDataset.figures
    FileHandle.standardOutput.write(Data("| figure | purser | baseline | baseline figure | ratio |\n|---|---|---|---|---|\n".utf8))
    let baselineRuns = max(3, runs / 20)
    for figure in figures {
        let query = try DataQuery.parse(figure.query, now: queryNow)
        _ = try engine.run(query, org: bigOrg) // warm the caches
        var times: [Double] = []
        var result: JSONValue = .null
        for _ in 0..<runs {
            let s = now()
            result = try engine.run(query, org: bigOrg)
            times.append(now() - s)
        }
        var baseTimes: [Double] = []
        var baseResult: JSONValue = .null
        for _ in 0..<baselineRuns {
            let s = now()
            baseResult = figure.baseline(try scanOrg(reader, org: bigOrg))
            baseTimes.append(now() - s)
        }
        let purser = percentiles(times)
        let base = percentiles(baseTimes)
        row("query \(figure.name), \(bigCount)-object org of \(allCount) (p50 / p99 ms, \(runs) runs)",
            String(format: "%.2f / %.2f", purser.p50 * 1000, purser.p99 * 1000),
            "full scan of the org's rows, evaluated in Swift (\(baselineRuns) runs)",
            String(format: "%.1f / %.1f", base.p50 * 1000, base.p99 * 1000), String(format: "%.1f× faster", base.p50 / purser.p50))
        let summary = [result["aggregate"]?["value"], result["groups"]?.arrayValue.map { .number(Double($0.count)) },
                       result["items"]?.arrayValue.map { .array($0.compactMap { $0["id"] }) }].compactMap { $0 }.first ?? .null
        if summary != baseResult {
            FileHandle.standardError.write(Data("  mismatch: engine \(summary.serialized()) vs baseline \(baseResult.serialized())\n".utf8))
        }
    }
    if !args.contains("--keep") { try? FileManager.default.removeItem(atPath: work) }
}

/// One row of the baseline's scan, its JSON parsed.
struct ScannedRow {
    var id: String
    var type: String
    var status: String?
    var properties: JSONValue
    var createdAt: Timestamp?
}

/// Every row of `org`, parsed: what answering without the engine's SQL costs.
func scanOrg(_ reader: any DatabaseReader, org: String) throws -> [ScannedRow] {
    try reader.read { db in
        var rows: [ScannedRow] = []
        let cursor = try Row.fetchCursor(db, sql: "SELECT id, type, status, custom_properties, created_at, deleted FROM objects WHERE org = ?", arguments: [org])
        while let row = try cursor.next() {
            guard (row["deleted"] as Int) == 0 else { continue }
            let text: String = row["custom_properties"]
            rows.append(ScannedRow(id: row["id"], type: row["type"], status: row["status"],
                                   properties: (try? JSONValue(parsing: text)) ?? .emptyObject,
                                   createdAt: (row["created_at"] as String?).flatMap(Timestamp.init(iso8601:))))
        }
        return rows
    }
}

func percentiles(_ values: [Double]) -> (p50: Double, p99: Double) {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return (0, 0) }
    func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))] }
    return (at(0.5), at(0.99))
}

/// The query bench's dataset: N objects over `orgs` orgs, one org (`bigOrg`) holding `big` of
/// them, half contacts and half bookings (each booking linked to its contact), the same for every
/// seed run; both the SQLite figures and the PostgreSQL ones (`purser-bench postgres`) load it.
enum QueryDataset {
    static let bigOrg = "org-0000"
    static let queryNow = Timestamp(iso8601: "2026-11-25T12:00:00Z") ?? Timestamp.now()

    struct Object {
        var id: String
        var type: String
        var name: String
        var status: String
        var properties: JSONValue
        var createdAt: String
        var seq: Int64
    }

    struct Link {
        var from: String
        var linkType: String
        var to: String
        var seq: Int64
    }

    /// Calls `body` once per org with its objects and links, in org order.
    static func generate(objects total: Int, orgs: Int, big: Int, _ body: (String, [Object], [Link]) throws -> Void) rethrows {
        let courses = ["SBF Binnen", "SBF See", "SKS", "Jollenkurs", "Kinderkurs", "Funkschein", "Yachtcharter", "Sportküstenschiffer"]
        let statuses = ["confirmed", "confirmed", "confirmed", "pending", "cancelled"]
        let startMs: Int64 = 1_732_000_000_000 // 2024-11-19
        let spanMs: Int64 = 2 * 365 * 86_400_000
        var rng = Xorshift(seed: 4)
        let rest = max(0, total - big)
        let perOrg = orgs > 1 ? rest / (orgs - 1) : 0
        var seq: Int64 = 0
        for orgIndex in 0..<orgs {
            let org = "org-" + String(format: "%04d", orgIndex)
            let count = orgIndex == 0 ? big : perOrg + (orgIndex - 1 < rest - perOrg * (orgs - 1) ? 1 : 0)
            let contacts = max(1, count / 2)
            var objects: [Object] = []
            var links: [Link] = []
            objects.reserveCapacity(count)
            for index in 0..<count {
                seq += 1
                let created = Timestamp(millisecondsSinceEpoch: startMs + Int64(rng.next() % UInt64(spanMs))).iso8601
                if index < contacts {
                    let id = String(format: "c_%07d", index)
                    var properties: [String: JSONValue] = [:]
                    properties["email"] = .string("kunde\(index)@example.de")
                    properties["phone"] = .string("+4917\(10_000_000 + index)")
                    properties["source"] = .string(["whatsapp", "email", "webchat"][index % 3])
                    objects.append(Object(id: id, type: "crm_contact", name: "Kunde \(index)", status: index % 4 == 0 ? "customer" : "lead",
                                          properties: .object(properties), createdAt: created, seq: seq))
                } else {
                    let id = String(format: "b_%07d", index)
                    let contact = String(format: "c_%07d", Int(rng.next() % UInt64(contacts)))
                    let startsAt = Timestamp(millisecondsSinceEpoch: startMs + Int64(rng.next() % UInt64(spanMs)))
                    var properties: [String: JSONValue] = [:]
                    properties["course"] = .string(courses[Int(rng.next() % UInt64(courses.count))])
                    properties["price"] = .number(Double(90 + Int(rng.next() % 400)))
                    properties["currency"] = "EUR"
                    properties["resourceId"] = .string("boat_\(rng.next() % 20)")
                    properties["startsAt"] = .string(startsAt.iso8601)
                    properties["endsAt"] = .string(startsAt.adding(seconds: 7200).iso8601)
                    properties["contactId"] = .string(contact)
                    let status = statuses[Int(rng.next() % UInt64(statuses.count))]
                    objects.append(Object(id: id, type: "booking", name: "Buchung \(index)", status: status,
                                          properties: .object(properties), createdAt: created, seq: seq))
                    links.append(Link(from: contact, linkType: "bookings", to: id, seq: seq))
                }
            }
            try body(org, objects, links)
        }
    }

    /// A crm database in CRMProjector's schema, written without a journal: the figure is the
    /// query path, not the writes.
    static func openSQLite(_ path: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = OFF")
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA cache_size = -262144")
        }
        let writer = try DatabaseQueue(path: path, configuration: config)
        try writer.write { db in try db.execute(sql: CRMProjector().schemaSQL) }
        return writer
    }

    static func write(_ objects: [Object], _ links: [Link], org: String, to writer: DatabaseQueue) throws {
        try writer.write { db in
            let object = try db.makeStatement(sql: """
                INSERT INTO objects (org, id, type, subtype, name, status, custom_properties, created_at, updated_at, deleted, seq)
                VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, 0, ?)
                """)
            let link = try db.makeStatement(sql: "INSERT OR IGNORE INTO links (org, from_id, link_type, to_id, seq) VALUES (?, ?, ?, ?, ?)")
            for row in objects {
                try object.execute(arguments: [org, row.id, row.type, row.name, row.status, row.properties.serialized(), row.createdAt, row.createdAt, row.seq])
            }
            for row in links {
                try link.execute(arguments: [org, row.from, row.linkType, row.to, row.seq])
            }
        }
    }

    /// The figures: a query each, and what a full scan of the org's rows in Swift answers.
    static var figures: [(name: String, query: JSONValue, baseline: ([ScannedRow]) -> JSONValue)] {
        let since = "2026-06-01T00:00:00Z"
        let sinceInstant = Timestamp(iso8601: since) ?? queryNow
        return [
            ("count of bookings", ["objectType": "booking", "aggregate": ["type": "count"]], { rows in
                .number(Double(rows.filter { $0.type == "booking" }.count))
            }),
            ("sum of customProperties.price", ["objectType": "booking", "aggregate": ["type": "sum", "field": "customProperties.price"]], { rows in
                .number(rows.filter { $0.type == "booking" }.reduce(0) { $0 + ($1.properties["price"]?.doubleValue ?? 0) })
            }),
            ("group-by customProperties.course, sum of price",
             ["objectType": "booking", "aggregate": ["type": "sum", "field": "customProperties.price"], "groupBy": "customProperties.course"], { rows in
                var sums: [String: Double] = [:]
                for row in rows where row.type == "booking" {
                    sums[row.properties["course"]?.stringValue ?? "", default: 0] += row.properties["price"]?.doubleValue ?? 0
                }
                return .number(Double(sums.count))
            }),
            ("filtered page: status eq + createdAt gte, createdAt desc, limit 50",
             ["objectType": "booking", "filters": [["field": "status", "op": "eq", "value": "confirmed"], ["field": "createdAt", "op": "gte", "value": .string(since)]],
              "sort": [["field": "createdAt", "dir": "desc"]], "limit": 50], { rows in
                let page = rows.filter { $0.type == "booking" && $0.status == "confirmed" && ($0.createdAt.map { $0 >= sinceInstant } ?? false) }
                    .sorted { ($0.createdAt ?? sinceInstant, $1.id) > ($1.createdAt ?? sinceInstant, $0.id) }
                    .prefix(50)
                return .array(page.map { .string($0.id) })
            }),
        ]
    }
}
