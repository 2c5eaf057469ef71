import EventLog
import EventStore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import PostgresReadModels
import PostgresStore
import Projection
import ReadModelCatalog

/// purser-bench postgres --url URL [--events N] [--work DIR]: the PostgreSQL store's figures,
/// each beside a baseline from the same run on the same server.
///
/// Two fresh databases on the server URL names (dropped at the end): one for the 64 producers
/// and their plain-`INSERT` baseline, one for the N-event import, replays and rebuild. The N
/// events are pipeline traffic (`ProjectionWorkload`) over N/1,000 orgs, so one org holds about
/// 1,000 of them; they are written to an embedded log first, which is the import's source and
/// the embedded side of the replay and rebuild figures. A third holds the crm read model for
/// `data_query_tool`'s figures beside SQLite (`benchDataQuery`).
func runPostgresBench(url text: String, events total: Int, work: String) async throws {
    guard !text.isEmpty else {
        FileHandle.standardError.write(Data("purser-bench postgres needs --url postgres://USER@HOST:PORT/DB\n".utf8))
        exit(2)
    }
    let server = try PostgresURL(text)
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    FileHandle.standardOutput.write(Data("| figure | purser | baseline | baseline figure | ratio |\n|---|---|---|---|---|\n".utf8))

    let appendDB = try await BenchDatabase.create(server, "purser_bench_append")
    try await benchDurableAppend(appendDB)
    try await BenchDatabase.drop(server, appendDB)

    let importDB = try await BenchDatabase.create(server, "purser_bench_import")
    try await benchImportReplayRebuild(importDB, events: total, work: work)
    try await BenchDatabase.drop(server, importDB)

    let queryDB = try await BenchDatabase.create(server, "purser_bench_query")
    try await benchDataQuery(queryDB, objects: total, runs: 100, work: work)
    try await BenchDatabase.drop(server, queryDB)
    if !args.contains("--keep") { try? FileManager.default.removeItem(atPath: work) }
}

/// Both sides of every figure use 64 connections: one per producer.
private let producerCount = 64

/// The columns of `purser_events`, in a plain table (no key, no index) for the baselines.
private func createPlainTable(_ name: String) -> PostgresQuery {
    PostgresQuery(unsafeSQL: """
        CREATE TABLE \(name) (org text NOT NULL, seq bigint NOT NULL, id text NOT NULL, stream text NOT NULL,
                         stream_version integer NOT NULL, type text NOT NULL, ts_ms bigint NOT NULL,
                         body text NOT NULL, hash bytea NOT NULL)
        """)
}

/// Durable append, one ~500 B event per append from each of 64 producers, against one
/// autocommit `INSERT` per event into a plain table from 64 producers.
private func benchDurableAppend(_ url: PostgresURL) async throws {
    let perProducer = 200
    var gen = Workload(seed: 42, orgs: 1000)
    let drafts = (0..<(producerCount * perProducer)).map { _ in gen.next() }
    let avgBytes = try drafts.prefix(1000).reduce(0) { $0 + (try $1.storedBody().count) } / min(1000, drafts.count)

    let store = try await PostgresEventStore.open(url: url, connectionsMax: producerCount, logger: quiet)
    let commit = try await BenchDatabase.withClient(url) { client in try await BenchDatabase.setting(client, "synchronous_commit") }
    // Open every connection before the clock starts.
    try await withThrowingTaskGroup(of: Void.self) { group in
        for p in 0..<producerCount { group.addTask { _ = try await store.head(org: "warm-\(p)") } }
        try await group.waitForAll()
    }
    let t0 = now()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for p in 0..<producerCount {
            group.addTask {
                for i in (p * perProducer)..<((p + 1) * perProducer) { _ = try await store.append([drafts[i]]) }
            }
        }
        try await group.waitForAll()
    }
    let storeRate = Double(drafts.count) / (now() - t0)
    await store.close()

    let rows = try drafts.map { ($0, String(decoding: try $0.storedBody(), as: UTF8.self)) }
    let insertRate = try await BenchDatabase.withClient(url, connectionsMax: producerCount) { client in
        try await client.query(createPlainTable("bench_insert"), logger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<producerCount { group.addTask { try await client.query("SELECT 1", logger: quiet) } }
            try await group.waitForAll()
        }
        let hash = ByteBuffer(repeating: 0, count: 32)
        let s0 = now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for p in 0..<producerCount {
                group.addTask {
                    for i in (p * perProducer)..<((p + 1) * perProducer) {
                        let (d, body) = rows[i]
                        try await client.query("""
                            INSERT INTO bench_insert VALUES (\(d.org), \(Int64(i + 1)), \(d.id), \(d.stream), \(Int32(1)), \(d.type), \
                            \(d.timestampMs), \(body), \(hash))
                            """, logger: quiet)
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(rows.count) / (now() - s0)
    }
    row("durable append, \(producerCount) producers, 1 event (~\(avgBytes) B)/append, synchronous_commit=\(commit) (events/s)",
        formatRate(storeRate), "one autocommit INSERT per event into a plain table, \(producerCount) producers",
        formatRate(insertRate), String(format: "%.2f×", storeRate / insertRate))
}

/// The N-event database: import, one org's replay, full replay, read-model rebuild.
private func benchImportReplayRebuild(_ url: PostgresURL, events total: Int, work: String) async throws {
    let orgCount = max(1, total / 1000)
    let embeddedData = work + "/embedded"
    do {
        let log = try EventLog.open(directory: embeddedData + "/eventlog", logger: quiet)
        var g = ProjectionWorkload(seed: 11, orgs: orgCount)
        var written = 0
        while written < total {
            let n = min(4096, total - written)
            _ = try log.appendSync((0..<n).map { _ in g.next() })
            written += n
        }
        log.close()
    }
    let embedded = EmbeddedEventStore(reader: LogReader(directory: embeddedData + "/eventlog"))
    let store = try await PostgresEventStore.open(url: url, logger: quiet)

    // Bulk import: `purser store migrate`'s copier (reading the embedded log org by org, appending
    // in batches), against COPY FROM STDIN of the same rows, encoded before the clock starts.
    let i0 = now()
    let summary = try await EventCopier(from: embedded, to: store, orgsAtOnce: EventCopier.postgresOrgsAtOnce).run()
    let importSecs = now() - i0
    precondition(summary.copied == UInt64(total), "the copier wrote \(summary.copied) of \(total) events")
    var chunks: [ByteBuffer] = []
    for org in try await embedded.orgs() {
        var seq: Int64 = 0
        try await embedded.scan(EventQuery(org: org)) { batch in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(batch.count * 800)
            for event in batch {
                seq += 1
                copyRow(event, seq: seq, into: &buffer)
            }
            chunks.append(buffer)
            return true
        }
    }
    let copySecs = try await BenchDatabase.withClient(url) { [chunks] client in
        try await client.query(createPlainTable("bench_copy"), logger: quiet)
        return try await client.withConnection { connection in
            let c0 = now()
            try await connection.copyFrom(table: "bench_copy", logger: quiet) { writer in
                for chunk in chunks { try await writer.write(chunk) }
            }
            return now() - c0
        }
    }
    chunks = []
    let importRate = Double(total) / importSecs, copyRate = Double(total) / copySecs
    row("bulk import of \(total) events, \(orgCount) orgs (EventCopier, as `purser store migrate`) (events/s)", formatRate(importRate),
        "COPY FROM STDIN of the same rows (encoded beforehand) into a plain table", formatRate(copyRate), String(format: "%.2f× COPY's rate", importRate / copyRate))

    // One org's replay through the seam: the store's (org, seq) key against the embedded org index.
    let org = "org-0000"
    let orgEvents = try await store.events(EventQuery(org: org)).count
    let runs = 20
    func oneOrg(_ s: any EventStore) async throws -> Double {
        _ = try await s.events(EventQuery(org: org))  // warm
        let t0 = now()
        for _ in 0..<runs { _ = try await s.events(EventQuery(org: org)) }
        return (now() - t0) / Double(runs)
    }
    let pgOrg = try await oneOrg(store), embeddedOrg = try await oneOrg(embedded)
    row("replay of one org (\(orgEvents) events) among \(total), through scan (ms)", String(format: "%.2f ms", pgOrg * 1000),
        "embedded store, same org through the seam", String(format: "%.2f ms", embeddedOrg * 1000), String(format: "%.2f× its time", pgOrg / embeddedOrg))

    // Full replay: every org through scan, one after another, as a reader of the seam does.
    func full(_ s: any EventStore) async throws -> Double {
        let t0 = now()
        var n = 0
        for o in try await s.orgs() {
            try await s.scan(EventQuery(org: o)) { batch in n += batch.count; return true }
        }
        precondition(n == total, "full replay read \(n) of \(total) events")
        return Double(n) / (now() - t0)
    }
    _ = try await full(embedded)  // warm the page cache
    let pgFull = try await full(store), embeddedFull = try await full(embedded)
    row("full replay of \(total) events, org by org through scan (events/s)", formatRate(pgFull),
        "embedded store, the same through the seam", formatRate(embeddedFull), String(format: "%.2f×", pgFull / embeddedFull))

    // Rebuild of every read model: from PostgreSQL (per-org checkpoints) and from the embedded log.
    let projectors = ReadModelCatalog.projectors
    let fromStore = ProjectionSet(projectors: projectors, dataDirectory: work + "/pg-models", source: .store(store), logger: quiet)
    let r0 = now()
    _ = try await ProjectionSet.run(fromStore.stores, rebuild: true)
    let pgRebuild = Double(total) / (now() - r0)
    let fromLog = ProjectionSet(projectors: projectors, dataDirectory: embeddedData, logger: quiet)
    let e0 = now()
    _ = try await ProjectionSet.run(fromLog.stores, rebuild: true)
    let embeddedRebuild = Double(total) / (now() - e0)
    row("rebuild of all \(projectors.count) read models from PostgreSQL, \(total) events, in parallel (events/s)", formatRate(pgRebuild),
        "the same rebuild from the embedded log", formatRate(embeddedRebuild), String(format: "%.2f×", pgRebuild / embeddedRebuild))

    // Rebuild of the models kept in PostgreSQL itself (each into a new schema, swapped in), all at
    // once, against the same node-local rebuild from the embedded log.
    let kept = PostgresReadModelCatalog.projectors.map { PostgresReadModel(projector: $0, store: store, logger: quiet) }
    let k0 = now()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for model in kept { group.addTask { _ = try await model.rebuild() } }
        try await group.waitForAll()
    }
    let keptRebuild = Double(total) / (now() - k0)
    row("rebuild of all \(kept.count) read models kept in PostgreSQL (PostgresReadModel, new schemas swapped in), \(total) events, in parallel (events/s)",
        formatRate(keptRebuild), "the node's SQLite models rebuilt from the embedded log", formatRate(embeddedRebuild),
        String(format: "%.2f×", keptRebuild / embeddedRebuild))
    await store.close()
}

/// One row of `COPY … FROM STDIN` text format: tab-separated, with backslash, tab, newline and
/// carriage return escaped; the hash column is 32 zero bytes (the server computes none).
private func copyRow(_ event: StoredEvent, seq: Int64, into buffer: inout ByteBuffer) {
    func field(_ bytes: some Sequence<UInt8>) {
        for b in bytes {
            switch b {
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            default: buffer.writeInteger(b)
            }
        }
        buffer.writeInteger(UInt8(0x09))
    }
    field(event.org.utf8)
    field(String(seq).utf8)
    field(event.id.utf8)
    field(event.stream.utf8)
    field(String(event.streamVersion).utf8)
    field(event.type.utf8)
    field(String(event.timestampMs).utf8)
    field(event.body)
    buffer.writeStaticString("\\\\x")
    buffer.writeString(String(repeating: "00", count: 32))
    buffer.writeInteger(UInt8(0x0A))
}

/// Fresh databases on the bench's server, and plain clients for the baselines.
private enum BenchDatabase {
    /// Drops `name` if an earlier run left it, creates it empty and returns its URL.
    static func create(_ server: PostgresURL, _ name: String) async throws -> PostgresURL {
        try await withClient(server) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: quiet)
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quiet)
        }
        var url = server
        url.database = name
        return url
    }

    static func drop(_ server: PostgresURL, _ db: PostgresURL) async throws {
        try await withClient(server) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(db.database) WITH (FORCE)"), logger: quiet)
        }
    }

    /// A server setting as `SHOW` prints it.
    static func setting(_ client: PostgresClient, _ name: String) async throws -> String {
        for try await value in try await client.query(PostgresQuery(unsafeSQL: "SHOW \(name)"), logger: quiet).decode(String.self) {
            return value
        }
        return "?"
    }

    /// A client configured as the store configures its own, running while `body` runs.
    static func withClient<T: Sendable>(_ url: PostgresURL, connectionsMax: Int = 4,
                                        _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: url.clientConfiguration(connectionsMax: connectionsMax), backgroundLogger: quiet)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        return try await body(client)
    }
}
