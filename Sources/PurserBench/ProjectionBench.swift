import EventLog
import Foundation
import Logging
import Projection
import ReadModelCatalog

/// purser-bench projections [--events N] [--work DIR]: rebuilds every read model from a log of
/// pipeline traffic across 1,000 orgs, against the raw replay rate of the same log.
func runProjectionBench(events total: Int, work: String) throws {
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let logDir = work + "/eventlog"
    let log = try EventLog.open(directory: logDir, logger: quiet)
    var g = ProjectionWorkload(seed: 11, orgs: 1000)
    var written = 0
    while written < total {
        let n = min(4096, total - written)
        _ = try log.appendSync((0..<n).map { _ in g.next() })
        written += n
    }
    log.close()

    FileHandle.standardOutput.write(Data("| figure | purser | baseline | baseline figure | ratio |\n|---|---|---|---|---|\n".utf8))
    _ = try fullReplay(logDir) // warm the page cache
    let replay = try fullReplay(logDir)
    let replayRate = Double(replay.events) / replay.seconds

    let projectors = ReadModelCatalog.projectors
    var progress = Logger(label: "bench.projections", factory: { StreamLogHandler.standardError(label: $0) })
    progress.logLevel = ProcessInfo.processInfo.environment["PURSER_BENCH_VERBOSE"] == nil ? .warning : .info
    let set = ProjectionSet(projectors: projectors, dataDirectory: work, logger: progress)
    let t0 = now()
    let reports = try ProjectionSet.runBlocking(set.stores, rebuild: true)
    let secs = now() - t0
    let rate = Double(replay.events) / secs
    row("rebuild of all \(projectors.count) read models, \(replay.events) events, 1,000 orgs, in parallel (events/s)", formatRate(rate),
        "raw replay of the same log (scan only)", formatRate(replayRate), String(format: "%.1f× replay's time", secs / replay.seconds))
    // One model at a time, for the cost of each without the others competing for the 2 cores.
    var seqSecs = 0.0
    for store in set.stores {
        let r = try store.rebuild()
        seqSecs += r.seconds
        row("  \(r.name) alone: \(r.eventsApplied) of \(r.eventsScanned) events applied (events/s of log)", formatRate(Double(r.eventsScanned) / r.seconds),
            "wall time", String(format: "%.2f s", r.seconds), r.eventsSkipped > 0 ? "\(r.eventsSkipped) skipped" : "-")
    }
    row("rebuild of all read models one after another (events/s)", formatRate(Double(replay.events) / seqSecs),
        "in parallel (above)", formatRate(rate), String(format: "%.2f×", seqSecs / secs))
    if !args.contains("--keep") { try? FileManager.default.removeItem(atPath: work) }
}

/// purser-bench projection-rebuild NAME DATA: rebuilds one model of a kept bench data directory
/// (for profiling one projector).
func runOneProjectionRebuild(name: String, data: String) throws {
    let projectors = ReadModelCatalog.projectors
    let set = ProjectionSet(projectors: projectors, dataDirectory: data, logger: quiet)
    let r = try set.store(name).rebuild()
    print("\(r.name): \(r.eventsApplied) of \(r.eventsScanned) applied in \(String(format: "%.2f", r.seconds)) s")
}
