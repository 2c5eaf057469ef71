import EventLog
import Foundation
import Logging

/// purser-bench: the event-log figures of BENCHMARKS.md, each beside a baseline measured in
/// the same run. `scripts/bench.sh` builds it in release mode and runs it.
///
///   purser-bench eventlog [--events N] [--work DIR]
///   purser-bench projections [--events N] [--work DIR]   (read-model rebuild versus raw replay)
///   purser-bench query [--objects N] [--orgs N] [--big N] [--runs N] [--work DIR]   (data query tool latency)
///   purser-bench audit [--events N] [--org-events N] [--work DIR]   (one org's audit versus full replay)
///   purser-bench pipeline [--messages N] [--sessions N] [--delay-ms MS]   (end-to-end messages/s, engine time)
///   purser-bench postgres --url URL [--events N] [--work DIR]   (the PostgreSQL store beside plain SQL and the embedded store)
///   purser-bench replay DIR          (full replay; used to measure peak RSS in a child process)

let args = CommandLine.arguments
let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

func option(_ name: String, _ def: String) -> String {
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return def
}

func row(_ figure: String, _ value: String, _ baseline: String, _ baseValue: String, _ ratio: String) {
    FileHandle.standardOutput.write(Data("| \(figure) | \(value) | \(baseline) | \(baseValue) | \(ratio) |\n".utf8))
}

func fullReplay(_ dir: String) throws -> (events: Int, bytes: Int, seconds: Double) {
    let reader = LogReader(directory: dir)
    var n = 0, bytes = 0
    let t0 = now()
    try reader.scan(.init()) { r in
        n += 1
        bytes += r.json.count
        return true
    }
    return (n, bytes, now() - t0)
}

if args.count >= 3 && args[1] == "replay" {
    let r = try fullReplay(args[2])
    print("\(r.events) events in \(r.seconds) s")
    exit(0)
}

if args.count >= 3 && args[1] == "open" {
    let t0 = now()
    let log = try EventLog.open(directory: args[2], logger: quiet)
    let t1 = now()
    _ = try log.appendSync([EventDraft(org: "o", stream: "s", type: "x.y", data: Array("{}".utf8))])
    print("open \((t1 - t0) * 1000) ms, first append \((now() - t1) * 1000) ms")
    log.close()
    exit(0)
}

if args.count >= 4 && args[1] == "bulk" {
    // purser-bench bulk DIR N: bulk-append N events (for profiling the write path).
    let log = try EventLog.open(directory: args[2], logger: quiet)
    var g = Workload(seed: 7, orgs: 1000)
    let total = Int(args[3])!
    let events = (0..<total).map { _ in g.next() }
    let t0 = now()
    var i = 0
    while i < total {
        let n = min(4096, total - i)
        _ = try log.appendSync(Array(events[i..<(i + n)]))
        i += n
    }
    print("\(total) events in \(now() - t0) s")
    log.close()
    exit(0)
}

if args.count >= 4 && args[1] == "projection-rebuild" {
    try runOneProjectionRebuild(name: args[2], data: args[3])
    exit(0)
}

if args.count >= 2 && args[1] == "audit" {
    try runAuditBench(events: Int(option("--events", "1000000"))!, orgEvents: Int(option("--org-events", "100000"))!,
                      work: option("--work", NSTemporaryDirectory() + "purser-bench-audit"))
    exit(0)
}

if args.count >= 2 && args[1] == "projections" {
    try runProjectionBench(events: Int(option("--events", "1000000"))!, work: option("--work", NSTemporaryDirectory() + "purser-bench-projections"))
    exit(0)
}

if args.count >= 2 && args[1] == "pipeline" {
    FileHandle.standardOutput.write(Data("| figure | purser | baseline | baseline figure | ratio |\n|---|---|---|---|---|\n".utf8))
    try await runPipelineBench(messages: Int(option("--messages", "20000")) ?? 20000, sessions: Int(option("--sessions", "500")) ?? 500,
                               delayMs: Int(option("--delay-ms", "200")) ?? 200, work: option("--work", NSTemporaryDirectory() + "purser-bench-pipeline"))
    exit(0)
}

if args.count >= 2 && args[1] == "query" {
    try runQueryBench(objects: Int(option("--objects", "1000000")) ?? 1_000_000, orgs: Int(option("--orgs", "1000")) ?? 1000,
                      big: Int(option("--big", "100000")) ?? 100_000, runs: Int(option("--runs", "200")) ?? 200,
                      work: option("--work", NSTemporaryDirectory() + "purser-bench-query"))
    exit(0)
}

if args.count >= 2 && args[1] == "postgres" {
    try await runPostgresBench(url: option("--url", ProcessInfo.processInfo.environment["PURSER_DATABASE_URL"] ?? ""),
                               events: Int(option("--events", "1000000")) ?? 1_000_000,
                               work: option("--work", NSTemporaryDirectory() + "purser-bench-postgres"))
    exit(0)
}

guard args.count >= 2 && args[1] == "eventlog" else {
    FileHandle.standardError.write(Data("usage: purser-bench eventlog [--events N] [--work DIR] | projections [--events N] [--work DIR] | query [--objects N] [--orgs N] [--big N] [--runs N] [--work DIR] | audit [--events N] [--org-events N] [--work DIR] | pipeline [--messages N] [--sessions N] [--delay-ms N] [--work DIR] | postgres --url URL [--events N] [--work DIR] | replay DIR\n".utf8))
    exit(2)
}

let totalEvents = Int(option("--events", "1000000"))!
let work = option("--work", NSTemporaryDirectory() + "purser-bench")
try? FileManager.default.removeItem(atPath: work)
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
let selfPath = URL(fileURLWithPath: args[0]).path

FileHandle.standardOutput.write(Data("| figure | purser | baseline | baseline figure | ratio |\n|---|---|---|---|---|\n".utf8))

// Pre-generated events, so the figures measure the log, not the generator.
var gen = Workload(seed: 42, orgs: 1000)
let sampleEvents = (0..<300_000).map { _ in gen.next() }
let avgBytes = sampleEvents.prefix(10000).reduce(0) { $0 + $1.data.count + 250 } / 10000

// A. Durable append, one producer, one event per append.
do {
    let n = 3000
    let log = try EventLog.open(directory: work + "/a1", logger: quiet)
    let t0 = now()
    for i in 0..<n { _ = try log.appendSync([sampleEvents[i]]) }
    let secs = now() - t0
    log.close()
    let sql = SQLiteBaseline(path: work + "/a1.sqlite")
    let s0 = now()
    for i in 0..<n {
        let e = sampleEvents[i]
        sql.exec("BEGIN")
        sql.insertRow(id: e.id, org: e.org, stream: e.stream, type: e.type, json: e.data)
        sql.exec("COMMIT")
    }
    let ssecs = now() - s0
    row("durable append, 1 producer, 1 event/append (events/s)", formatRate(Double(n) / secs),
        "SQLite WAL FULL, 1 txn/event", formatRate(Double(n) / ssecs), String(format: "%.2f×", ssecs / secs))
}

// B. 64 producers.
func producers(_ count: Int, perProducer: Int, eventsPerAppend: Int, dir: String) throws -> (Double, Int) {
    let log = try EventLog.open(directory: dir, logger: quiet)
    let group = DispatchGroup()
    let t0 = now()
    for p in 0..<count {
        group.enter()
        let t = Thread {
            var i = p * perProducer
            let end = i + perProducer
            while i < end {
                let slice = Array(sampleEvents[(i % sampleEvents.count)..<min(sampleEvents.count, i % sampleEvents.count + eventsPerAppend)])
                _ = try! log.appendSync(slice)
                i += slice.count
            }
            group.leave()
        }
        t.stackSize = 1 << 20
        t.start()
    }
    group.wait()
    let secs = now() - t0
    log.close()
    return (secs, count * perProducer)
}
var sqlite64Rate = 0.0
do {
    // Baseline: 64 threads, each its own connection, one durable transaction per event.
    let perThread = 60
    _ = SQLiteBaseline(path: work + "/b64.sqlite")
    let group = DispatchGroup()
    let s0 = now()
    for p in 0..<64 {
        group.enter()
        Thread {
            let sql = SQLiteBaseline(path: work + "/b64.sqlite")
            for i in 0..<perThread {
                let e = sampleEvents[p * perThread + i]
                sql.exec("BEGIN IMMEDIATE")
                sql.insertRow(id: e.id, org: e.org, stream: e.stream, type: e.type, json: e.data)
                sql.exec("COMMIT")
            }
            group.leave()
        }.start()
    }
    group.wait()
    sqlite64Rate = Double(64 * perThread) / (now() - s0)
}
for perAppend in [1, 8] {
    let (secs, n) = try producers(64, perProducer: perAppend == 1 ? 2000 : 4000, eventsPerAppend: perAppend, dir: work + "/b64-\(perAppend)")
    let rate = Double(n) / secs
    row("durable append, 64 producers, \(perAppend) event(s)/append (events/s; MB/s)",
        "\(formatRate(rate)); \(String(format: "%.0f", rate * Double(avgBytes) / 1e6))",
        "SQLite WAL FULL, 64 threads, 1 txn/event", formatRate(sqlite64Rate), String(format: "%.0f×", rate / sqlite64Rate))
}

// C. The 1M-event log, 1,000 orgs, written in bulk; and the one-big-transaction baseline.
let bigDir = work + "/big"
do {
    let log = try EventLog.open(directory: bigDir, logger: quiet)
    var g = Workload(seed: 7, orgs: 1000)
    let t0 = now()
    var written = 0
    while written < totalEvents {
        let n = min(4096, totalEvents - written)
        _ = try log.appendSync((0..<n).map { _ in g.next() })
        written += n
    }
    let secs = now() - t0
    log.close()
    let n = min(totalEvents, 200_000)
    let sql = SQLiteBaseline(path: work + "/c.sqlite")
    var g2 = Workload(seed: 7, orgs: 1000)
    let events = (0..<n).map { _ in g2.next() }
    let s0 = now()
    sql.exec("BEGIN")
    for e in events { sql.insertRow(id: e.id, org: e.org, stream: e.stream, type: e.type, json: e.data) }
    sql.exec("COMMIT")
    let ssecs = now() - s0
    row("bulk append, 4,096 events/append, \(totalEvents) events (events/s)", formatRate(Double(totalEvents) / secs),
        "SQLite, one big transaction (\(n) rows)", formatRate(Double(n) / ssecs), String(format: "%.2f×", (Double(totalEvents) / secs) / (Double(n) / ssecs)))
}

// D. Full replay versus lz4 -dc of the same segments.
let segs = try FileManager.default.contentsOfDirectory(atPath: bigDir + "/segments").sorted().map { bigDir + "/segments/" + $0 }
var fullSeconds = 0.0
var rawTotal = 0
do {
    _ = try fullReplay(bigDir) // warm the page cache
    let r = try fullReplay(bigDir)
    fullSeconds = r.seconds
    rawTotal = r.bytes
    var lz = 0.0
    for s in segs { lz += runQuiet("/usr/bin/lz4", ["-dc", "-D", bigDir + "/lz4.dict", s]) }
    let rate = Double(r.events) / r.seconds
    row("full replay, \(r.events) events (events/s)", formatRate(rate),
        "lz4 -dc of the segments to /dev/null", String(format: "%.2f s (%.0f MB/s)", lz, Double(rawTotal) / lz / 1e6),
        String(format: "%.2f× lz4's time", r.seconds / lz))
}

// E. One org out of 1,000.
do {
    let reader = LogReader(directory: bigDir)
    var counters = LogReader.Counters()
    var orgBytes = 0, orgEvents = 0
    let runs = 5
    let t0 = now()
    for i in 0..<runs {
        var c = LogReader.Counters()
        try reader.scan(.init(org: "org-0500"), counters: &c) { r in
            if i == 0 { orgBytes += r.json.count + 1; orgEvents += 1 }
            return true
        }
        counters = c
    }
    let secs = (now() - t0) / Double(runs)
    row("replay of one org (\(orgEvents) events) out of 1,000 (ms; MB decompressed)",
        String(format: "%.1f ms; %.2f MB", secs * 1000, Double(counters.bytesDecompressed) / 1e6),
        "full replay; the org's own bytes", String(format: "%.0f ms; %.2f MB", fullSeconds * 1000, Double(orgBytes) / 1e6),
        String(format: "%.0f× faster; %.2f× its bytes", fullSeconds / secs, Double(counters.bytesDecompressed) / Double(max(1, orgBytes))))
}

// F. Compression ratio: dictionary frames per org versus plain frames and one big lz4 stream.
do {
    let stats = try LogReader(directory: bigDir).stats()
    var opts = EventLogOptions()
    opts.compression = .plain
    let plainDir = work + "/plain"
    let log = try EventLog.open(directory: plainDir, options: opts, logger: quiet)
    var g = Workload(seed: 7, orgs: 1000)
    var written = 0
    while written < 200_000 {
        _ = try log.appendSync((0..<4096).map { _ in g.next() })
        written += 4096
    }
    log.close()
    let plain = try LogReader(directory: plainDir).stats()
    let rawFile = work + "/raw.jsonl"
    _ = runQuiet("/usr/bin/lz4", ["-dc", plainDir + "/segments/" + (try FileManager.default.contentsOfDirectory(atPath: plainDir + "/segments").sorted().first!)], stdoutTo: { FileManager.default.createFile(atPath: rawFile, contents: nil); return rawFile }())
    _ = runQuiet("/usr/bin/lz4", ["-1", "-f", "-q", rawFile, rawFile + ".lz4"])
    let rawSize = (try FileManager.default.attributesOfItem(atPath: rawFile)[.size] as! NSNumber).doubleValue
    let lzSize = (try FileManager.default.attributesOfItem(atPath: rawFile + ".lz4")[.size] as! NSNumber).doubleValue
    row("compression ratio (raw JSON / compressed), per-org frames with dictionary", String(format: "%.2f", stats.ratio),
        "per-org frames without dictionary; one lz4 -1 stream", String(format: "%.2f; %.2f", plain.ratio, rawSize / lzSize), String(format: "%.2f×", stats.ratio / plain.ratio))
    row("bytes on disk per event (files incl. metadata)", String(format: "%.0f B", Double(stats.fileBytes) / Double(stats.events)),
        "raw JSON per event", String(format: "%.0f B", Double(stats.rawBytes) / Double(stats.events)), String(format: "%.2f×", Double(stats.rawBytes) / Double(stats.fileBytes)))
}

// G. Opening a large log, and the replay's peak memory in a child process.
do {
    let t0 = now()
    let log = try EventLog.open(directory: bigDir, logger: quiet)
    let openSecs = now() - t0
    log.close()
    let t1 = now()
    _ = try LogReader(directory: bigDir).stats()
    let statSecs = now() - t1
    row("open the \(totalEvents)-event log for writing; stats for reading (ms)", String(format: "%.0f ms; %.0f ms", openSecs * 1000, statSecs * 1000),
        "full replay", String(format: "%.0f ms", fullSeconds * 1000), String(format: "%.2f×", openSecs / fullSeconds))
    let (secs, rss) = peakRSSOfChild(selfPath, ["replay", bigDir])
    row("peak RSS of a full \(totalEvents)-event replay (child process)", String(format: "%.1f MB", Double(rss) / 1024),
        "compressed log size", String(format: "%.0f MB", Double(segs.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? NSNumber)?.intValue ?? 0) }) / 1e6),
        String(format: "%.1f s", secs))
}
try? FileManager.default.removeItem(atPath: work)
