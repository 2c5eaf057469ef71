import EventLog
import Foundation
import GRDB
import Logging
import PurserCore
import PurserDomain

/// What a projection's file says about itself, and how far behind the log it is.
public struct ProjectionStatus: Sendable, Hashable {
    public var name: String
    /// The version this build declares.
    public var schemaVersion: Int
    /// The version the stored file was built with; nil when there is no file yet.
    public var storedSchemaVersion: Int?
    /// The last seq applied; 0 when nothing was.
    public var checkpoint: UInt64
    /// The log's last seq; 0 for an empty or missing log.
    public var logHead: UInt64
    /// Events skipped because they could not be decoded.
    public var skippedEvents: Int
    public var path: String

    /// Events in the log not yet applied (0 when the checkpoint is beyond a truncated log's end,
    /// which the next catch-up repairs by rebuilding).
    public var lag: UInt64 { logHead > checkpoint ? logHead - checkpoint : 0 }
    /// Whether the next catch-up rebuilds from scratch rather than continuing.
    public var needsRebuild: Bool { storedSchemaVersion != schemaVersion || checkpoint > logHead }
}

/// What one catch-up or rebuild did.
public struct CatchUpReport: Sendable, Hashable {
    public var name: String
    /// Whether the model was rebuilt into a new file and swapped in.
    public var rebuilt: Bool
    /// Why, when it was.
    public var rebuildReason: String?
    /// Events examined (including types the projector ignores).
    public var eventsScanned: Int
    /// Events of the projector's types applied.
    public var eventsApplied: Int
    /// Events that could not be decoded and were skipped.
    public var eventsSkipped: Int
    public var checkpoint: UInt64
    public var seconds: Double
}

/// One read model on disk: `DIR/<name>.sqlite`, built and kept current from the event log.
///
/// - The checkpoint (`projection_meta.checkpoint_seq`) is written in the same transaction as the
///   rows of the events it covers, so after a crash the model resumes exactly where its last
///   committed transaction ended: nothing is applied twice, nothing is skipped.
/// - When the stored schema version differs from the projector's, or the stored checkpoint lies
///   beyond the log's end (the log lost its tail), the model is rebuilt from seq 1 into
///   `<name>.sqlite.rebuild`, which is then renamed over the old file (and the directory
///   fsynced): readers see the old model until the rename and the complete new one after it.
/// - Writers of one model, in this process or others, serialize on `<name>.lock` (flock);
///   readers do not take it. The file is in WAL mode so reads never wait for a catch-up.
public final class ProjectionStore: Sendable {
    public let projector: any Projector
    /// `DATA/projections`.
    public let directory: String
    /// `DATA/eventlog`.
    public let logDirectory: String
    let logger: Logger

    public var name: String { projector.name }
    public var path: String { directory + "/" + projector.name + ".sqlite" }
    var rebuildPath: String { path + ".rebuild" }
    var lockPath: String { directory + "/" + projector.name + ".lock" }

    public init(projector: any Projector, directory: String, logDirectory: String, logger: Logger) {
        self.projector = projector
        self.directory = directory
        self.logDirectory = logDirectory
        self.logger = logger
    }

    /// The store of `projector` in a Purser data directory (`DATA/projections`, `DATA/eventlog`).
    public convenience init(projector: any Projector, dataDirectory: String, logger: Logger) {
        self.init(projector: projector, directory: dataDirectory + "/projections", logDirectory: dataDirectory + "/eventlog",
                  logger: logger)
    }

    // MARK: Reading

    /// Runs `body` on a read-only connection to the current model. Callers that need fresh data
    /// call `catchUp()` first.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ProjectionError(.notBuilt, "the \(name) read model has not been built yet; run `purser projections rebuild \(name)`")
        }
        do {
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(ProjectionLimits.busyTimeoutSeconds)
            config.label = "projection.\(name).read"
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            return try queue.read(body)
        } catch let error as ProjectionError {
            throw error
        } catch {
            throw ProjectionError(.storage, "cannot read the \(name) read model at \(path)", cause: error)
        }
    }

    /// Versions, checkpoint and lag, without taking the writer lock or changing anything.
    public func status() throws -> ProjectionStatus {
        let head = try logHead()
        var status = ProjectionStatus(name: name, schemaVersion: projector.schemaVersion, storedSchemaVersion: nil,
                                      checkpoint: 0, logHead: head, skippedEvents: 0, path: path)
        if FileManager.default.fileExists(atPath: path), let meta = try? read({ try Meta.load($0, name: name) }) {
            status.storedSchemaVersion = meta.schemaVersion
            status.checkpoint = meta.checkpoint
            status.skippedEvents = meta.skipped
        }
        return status
    }

    // MARK: Writing

    /// Brings the model up to the log's head: continues from the checkpoint, or rebuilds when
    /// the schema version changed, the file is missing, or the checkpoint is beyond the log.
    @discardableResult
    public func catchUp() throws -> CatchUpReport {
        try withWriterLock {
            // A rebuild file here belongs to a rebuild that died (the lock says none is running).
            if FileManager.default.fileExists(atPath: rebuildPath) {
                logger.notice("projection \(name): removing the file of an interrupted rebuild")
                removeFiles(rebuildPath)
            }
            let head = try logHead()
            var reason: String?
            if !FileManager.default.fileExists(atPath: path) {
                reason = "no model file yet"
            } else {
                let meta: Meta?
                do {
                    let writer = try openWriter(path: path, fresh: false)
                    defer { writer.close() }
                    meta = try writer.readMeta(name: name)
                } catch {
                    meta = nil
                    logger.warning("projection \(name): the model file is unreadable (\(error)); rebuilding")
                }
                if let meta {
                    if meta.schemaVersion != projector.schemaVersion {
                        reason = "schema version \(meta.schemaVersion) → \(projector.schemaVersion)"
                    } else if meta.checkpoint > head {
                        reason = "checkpoint \(meta.checkpoint) is beyond the log's last seq \(head) (the log lost its tail)"
                    }
                } else {
                    reason = reason ?? "the model file has no checkpoint"
                }
            }
            if let reason { return try rebuildLocked(reason: reason, head: head) }
            return try continueLocked(head: head)
        }
    }

    /// Rebuilds the model from seq 1 into a new file and swaps it in, whatever its state.
    @discardableResult
    public func rebuild() throws -> CatchUpReport {
        try withWriterLock { try rebuildLocked(reason: "requested", head: try logHead()) }
    }

    /// Keeps the model current until the task is cancelled: catches up, then looks for new
    /// events every `pollInterval`. Runs in the calling task; no other task is started.
    public func follow(pollInterval: Duration = .milliseconds(ProjectionLimits.followPollMilliseconds)) async throws {
        while !Task.isCancelled {
            let report = try catchUp()
            if report.eventsScanned == 0 {
                do {
                    try await Task.sleep(for: pollInterval)
                } catch {
                    return
                }
            }
        }
    }

    // MARK: Internals

    private func continueLocked(head: UInt64) throws -> CatchUpReport {
        let start = now()
        let writer = try openWriter(path: path, fresh: false)
        defer { writer.close() }
        let meta = try writer.readMeta(name: name) ?? Meta(schemaVersion: projector.schemaVersion, checkpoint: 0, skipped: 0)
        var report = CatchUpReport(name: name, rebuilt: false, rebuildReason: nil, eventsScanned: 0, eventsApplied: 0,
                                   eventsSkipped: 0, checkpoint: meta.checkpoint, seconds: 0)
        if meta.checkpoint < head {
            try writer.apply(projector: projector, reader: LogReader(directory: logDirectory), from: meta.checkpoint + 1,
                             head: head, meta: meta, batchEvents: ProjectionLimits.catchUpBatchEvents, logger: logger,
                             report: &report)
        }
        report.seconds = now() - start
        if report.eventsScanned > 0 {
            logger.debug("projection \(name): applied \(report.eventsApplied) of \(report.eventsScanned) events up to #\(report.checkpoint)")
        }
        return report
    }

    private func rebuildLocked(reason: String, head: UInt64) throws -> CatchUpReport {
        let start = now()
        logger.info("projection \(name): rebuilding from the log (\(reason)); \(head) events")
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        removeFiles(rebuildPath)
        var report = CatchUpReport(name: name, rebuilt: true, rebuildReason: reason, eventsScanned: 0, eventsApplied: 0,
                                   eventsSkipped: 0, checkpoint: 0, seconds: 0)
        do {
            let writer = try openWriter(path: rebuildPath, fresh: true)
            do {
                try writer.create(projector: projector)
                let meta = Meta(schemaVersion: projector.schemaVersion, checkpoint: 0, skipped: 0)
                try writer.apply(projector: projector, reader: LogReader(directory: logDirectory), from: 1, head: head,
                                 meta: meta, batchEvents: ProjectionLimits.rebuildBatchEvents, logger: logger, report: &report)
                try writer.finishRebuild()
            } catch {
                writer.close()
                throw error
            }
            writer.close()
            do { try AtomicFile.sync(rebuildPath) } catch {
                throw ProjectionError(.storage, "cannot sync \(rebuildPath)", cause: error)
            }
            try retireOldFile()
            do { try AtomicFile.moveDurably(from: rebuildPath, to: path, directory: directory, syncSource: false) } catch {
                throw ProjectionError(.storage, "cannot swap \(rebuildPath) in for \(path)", cause: error)
            }
        } catch {
            removeFiles(rebuildPath)
            throw error
        }
        report.seconds = now() - start
        logger.info("projection \(name): rebuilt, \(report.eventsApplied) of \(report.eventsScanned) events applied up to #\(report.checkpoint) in \(String(format: "%.2f", report.seconds)) s\(report.eventsSkipped > 0 ? ", \(report.eventsSkipped) undecodable skipped" : "")")
        return report
    }

    /// Empties the old file's write-ahead log before the new file takes its name: a WAL left
    /// behind would otherwise be replayed into the new database.
    private func retireOldFile() throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            let old = try openWriter(path: path, fresh: false)
            try old.queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            old.close()
        } catch {
            logger.warning("projection \(name): could not checkpoint the old file before the swap (\(error)); replacing it anyway")
        }
        for suffix in ["-wal", "-journal"] { unlink(path + suffix) }
    }

    private func withWriterLock<T>(_ body: () throws -> T) throws -> T {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lock: ExclusiveFileLock
        do { lock = try ExclusiveFileLock.acquire(lockPath) } catch {
            throw ProjectionError(.storage, "cannot lock \(lockPath)", cause: error)
        }
        defer { lock.unlock() }
        return try body()
    }

    private func openWriter(path: String, fresh: Bool) throws -> Writer {
        do {
            return try Writer(path: path, fresh: fresh, label: "projection.\(name)")
        } catch {
            throw ProjectionError(.storage, "cannot open the \(name) read model at \(path)", cause: error)
        }
    }

    /// The log's last seq, from the segment indexes (no event is decompressed).
    func logHead() throws -> UInt64 {
        let reader = LogReader(directory: logDirectory)
        guard reader.exists else { return 0 }
        do {
            return try reader.stats().lastSeq
        } catch {
            throw ProjectionError(.log, "cannot read the event log at \(logDirectory)", cause: error)
        }
    }

    private func removeFiles(_ base: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(base + suffix) }
    }
}

/// The stored state of a model: `projection_meta`'s one row.
struct Meta: Sendable {
    var schemaVersion: Int
    var checkpoint: UInt64
    var skipped: Int

    static let createSQL = """
        CREATE TABLE IF NOT EXISTS projection_meta (
            name TEXT PRIMARY KEY NOT NULL,
            schema_version INTEGER NOT NULL,
            checkpoint_seq INTEGER NOT NULL,
            skipped_events INTEGER NOT NULL DEFAULT 0
        )
        """

    static func load(_ db: Database, name: String) throws -> Meta? {
        guard try db.tableExists("projection_meta") else { return nil }
        guard let row = try Row.fetchOne(db, sql: "SELECT schema_version, checkpoint_seq, skipped_events FROM projection_meta WHERE name = ?",
                                         arguments: [name]) else { return nil }
        return Meta(schemaVersion: row[0], checkpoint: UInt64(max(0, row[1] as Int64)), skipped: row[2])
    }

    func save(_ db: Database, name: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO projection_meta (name, schema_version, checkpoint_seq, skipped_events) VALUES (?, ?, ?, ?)",
                       arguments: [name, schemaVersion, Int64(checkpoint), skipped])
    }
}

/// A write connection to one model file.
final class Writer {
    let queue: DatabaseQueue
    let path: String

    init(path: String, fresh: Bool, label: String) throws {
        self.path = path
        var config = Configuration()
        config.label = label
        config.busyMode = .timeout(ProjectionLimits.busyTimeoutSeconds)
        config.prepareDatabase { db in
            if fresh {
                // A file being rebuilt is thrown away if anything goes wrong, so it needs no
                // durability until it is complete (`finishRebuild` and the fsync before the swap).
                try db.execute(sql: "PRAGMA journal_mode = MEMORY")
                try db.execute(sql: "PRAGMA synchronous = OFF")
            } else {
                // WAL lets readers go on during a catch-up. NORMAL can lose the last commits on
                // power loss, never consistency: rows and checkpoint go back together.
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            let cacheKiB = (fresh ? ProjectionLimits.rebuildCacheBytes : ProjectionLimits.catchUpCacheBytes) / 1024
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        queue = try DatabaseQueue(path: path, configuration: config)
    }

    func close() { try? queue.close() }

    func readMeta(name: String) throws -> Meta? {
        try queue.read { try Meta.load($0, name: name) }
    }

    func create(projector: any Projector) throws {
        try queue.write { db in
            try db.execute(sql: Meta.createSQL)
            try db.execute(sql: projector.schemaSQL)
            try Meta(schemaVersion: projector.schemaVersion, checkpoint: 0, skipped: 0).save(db, name: projector.name)
        }
    }

    /// Makes the rebuilt file a normal rollback-journal database (it becomes WAL when it is next
    /// opened as the live model) with its pages analysed for the query planner.
    func finishRebuild() throws {
        try queue.writeWithoutTransaction { db in
            // Statistics from a sample of each index: a full ANALYZE would read the whole model again.
            try db.execute(sql: "PRAGMA analysis_limit = \(ProjectionLimits.analysisRowsMax)")
            try db.execute(sql: "ANALYZE")
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
        }
    }

    /// Applies the events from `from` on, in transactions of `batchEvents`, each ending with the
    /// checkpoint of its last event.
    func apply(projector: any Projector, reader: LogReader, from: UInt64, head: UInt64, meta: Meta, batchEvents: Int,
               logger: Logger, report: inout CatchUpReport) throws {
        guard reader.exists else { return }
        let types = projector.eventTypes
        let name = projector.name
        var meta = meta
        var scanned = 0, applied = 0, skipped = 0, pending = 0
        var lastProgress = now()
        var rep = report
        try queue.writeWithoutTransaction { db in
            var inTransaction = false
            func begin() throws {
                try db.execute(sql: "BEGIN IMMEDIATE")
                inTransaction = true
                // Another writer may have moved on since we read the checkpoint (it cannot, under
                // the lock file, but a stale read must never mean a double apply).
                if let stored = try Meta.load(db, name: name), stored.checkpoint > meta.checkpoint, stored.schemaVersion == meta.schemaVersion {
                    meta = stored
                }
            }
            func commit() throws {
                try meta.save(db, name: name)
                try db.execute(sql: "COMMIT")
                inTransaction = false
                pending = 0
            }
            do {
                let next: UInt64
                do {
                    next = try reader.scan(LogReader.Filter(fromSeq: from)) { record in
                        if !inTransaction { try begin() }
                        if record.seq <= meta.checkpoint { return true }
                        scanned += 1
                        pending += 1
                        if types.contains(record.type) {
                            do {
                                let event = try ProjectedEvent(record)
                                try projector.apply(event, db)
                                applied += 1
                            } catch let error as ProjectionError where error.code == .undecodableEvent {
                                skipped += 1
                                meta.skipped += 1
                                if meta.skipped <= ProjectionLimits.skippedEventsLoggedMax {
                                    logger.warning("projection \(name): skipped event #\(record.seq): \(error.message)")
                                }
                            }
                        }
                        meta.checkpoint = record.seq
                        if pending >= batchEvents {
                            try commit()
                            let t = now()
                            if t - lastProgress >= ProjectionLimits.progressIntervalSeconds {
                                lastProgress = t
                                let pct = head > 0 ? Int(Double(record.seq) * 100 / Double(head)) : 100
                                logger.info("projection \(name): #\(record.seq) of \(head) (\(pct)%)")
                            }
                        }
                        return true
                    }
                } catch let error as ProjectionError {
                    throw error
                } catch let error as DatabaseError {
                    throw ProjectionError(.storage, "projection \(name): SQLite failed", cause: error)
                } catch {
                    throw ProjectionError(.log, "projection \(name): cannot read the event log", cause: error)
                }
                // Seqs the scan passed over (none of ours) still move the checkpoint on.
                if next > 0, next - 1 > meta.checkpoint {
                    if !inTransaction { try begin() }
                    meta.checkpoint = max(meta.checkpoint, next - 1)
                }
                if inTransaction { try commit() }
            } catch {
                if inTransaction { try? db.execute(sql: "ROLLBACK") }
                throw error
            }
        }
        rep.eventsScanned += scanned
        rep.eventsApplied += applied
        rep.eventsSkipped += skipped
        rep.checkpoint = meta.checkpoint
        report = rep
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
