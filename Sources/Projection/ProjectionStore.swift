import EventLog
import EventStore
import Foundation
import GRDB
import Logging
import PurserCore
import PurserDomain

/// What a projection's file says about itself, and how far behind its source it is.
public struct ProjectionStatus: Sendable, Hashable {
    public var name: String
    /// The version this build declares.
    public var schemaVersion: Int
    /// The version the stored file was built with; nil when there is no file yet.
    public var storedSchemaVersion: Int?
    /// The last seq applied (0 when nothing was); fed from a store, the sum of `orgCheckpoints`.
    public var checkpoint: UInt64
    /// The log's last seq (0 for an empty or missing log); fed from a store, the sum of `orgHeads`.
    public var logHead: UInt64
    /// Events skipped because they could not be decoded.
    public var skippedEvents: Int
    public var path: String
    /// What feeds the model: the event log's directory or the store's address.
    public var source: String
    /// Whether the file was built from another source (the log, or another store), which the
    /// next catch-up repairs by rebuilding: positions of one source mean nothing in another.
    public var sourceChanged: Bool
    /// Fed from a store: the last position applied in each org (empty when fed from the log).
    public var orgCheckpoints: [String: UInt64]
    /// Fed from a store: each org's newest position (empty when fed from the log).
    public var orgHeads: [String: UInt64]

    /// Positions not yet applied (0 when a checkpoint is beyond its end, which the next catch-up
    /// repairs by rebuilding): the log's head minus the checkpoint, or per org summed over orgs.
    public var lag: UInt64 {
        if orgHeads.isEmpty && orgCheckpoints.isEmpty { return logHead > checkpoint ? logHead - checkpoint : 0 }
        return orgHeads.reduce(0) { sum, entry in
            let applied = orgCheckpoints[entry.key, default: 0]
            return sum + (entry.value > applied ? entry.value - applied : 0)
        }
    }
    /// Whether the next catch-up rebuilds from scratch rather than continuing.
    public var needsRebuild: Bool {
        if storedSchemaVersion != schemaVersion || sourceChanged { return true }
        if orgHeads.isEmpty && orgCheckpoints.isEmpty { return checkpoint > logHead }
        return orgCheckpoints.contains { $0.value > orgHeads[$0.key, default: 0] }
    }
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
    /// The last seq applied; fed from a store, the sum of `orgCheckpoints`.
    public var checkpoint: UInt64
    /// Fed from a store: the last position applied in each org after this run (empty when fed
    /// from the log).
    public var orgCheckpoints: [String: UInt64] = [:]
    public var seconds: Double
}

/// One read model on disk: `DIR/<name>.sqlite`, built and kept current from its source, the
/// embedded log or a store behind the seam (`ProjectionSource`).
///
/// - The checkpoint is written in the same transaction as the rows of the events it covers, so
///   after a crash the model resumes exactly where its last committed transaction ended: nothing
///   is applied twice, nothing is skipped. Fed from the log it is one seq
///   (`projection_meta.checkpoint_seq`); fed from a store, whose positions are per org, one
///   position per org (`projection_org_checkpoints`), with the store's address in
///   `projection_source`.
/// - When the stored schema version differs from the projector's, the file was built from
///   another source, or a stored checkpoint lies beyond its source's end (the log lost its tail,
///   an org lost events), the model is rebuilt from the start into `<name>.sqlite.rebuild`,
///   which is then renamed over the old file (and the directory fsynced): readers see the old
///   model until the rename and the complete new one after it.
/// - Writers of one model, in this process or others, serialize on `<name>.lock` (flock);
///   readers do not take it. The file is in WAL mode so reads never wait for a catch-up.
/// - `catchUp`, `rebuild` and `status` block (SQLite, files, and for a store the wait for its
///   reads): call them from a dispatch queue or thread, never from a task on the cooperative pool.
public final class ProjectionStore: Sendable {
    public let projector: any Projector
    /// `DATA/projections`.
    public let directory: String
    /// Where the events come from.
    public let source: ProjectionSource
    let logger: Logger

    public var name: String { projector.name }
    public var path: String { directory + "/" + projector.name + ".sqlite" }
    var rebuildPath: String { path + ".rebuild" }
    var lockPath: String { directory + "/" + projector.name + ".lock" }

    public init(projector: any Projector, directory: String, source: ProjectionSource, logger: Logger) {
        self.projector = projector
        self.directory = directory
        self.source = source
        self.logger = logger
    }

    /// A model fed from the embedded log in `logDirectory`.
    public convenience init(projector: any Projector, directory: String, logDirectory: String, logger: Logger) {
        self.init(projector: projector, directory: directory, source: .log(directory: logDirectory), logger: logger)
    }

    /// The store of `projector` in a Purser data directory (`DATA/projections`, `DATA/eventlog`).
    public convenience init(projector: any Projector, dataDirectory: String, logger: Logger) {
        self.init(projector: projector, directory: dataDirectory + "/projections", logDirectory: dataDirectory + "/eventlog",
                  logger: logger)
    }

    /// The store of `projector` in a Purser data directory (`DATA/projections`), fed from `source`.
    public convenience init(projector: any Projector, dataDirectory: String, source: ProjectionSource, logger: Logger) {
        self.init(projector: projector, directory: dataDirectory + "/projections", source: source, logger: logger)
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

    /// Versions, checkpoint(s) and lag, without taking the writer lock or changing anything.
    public func status() throws -> ProjectionStatus {
        let head = try sourceHead()
        var status = ProjectionStatus(name: name, schemaVersion: projector.schemaVersion, storedSchemaVersion: nil,
                                      checkpoint: 0, logHead: head.total, skippedEvents: 0, path: path,
                                      source: source.description, sourceChanged: false, orgCheckpoints: [:], orgHeads: head.orgs ?? [:])
        if FileManager.default.fileExists(atPath: path), let stored = try? read({ try StoredState.load($0, name: name) }), let meta = stored.meta {
            status.storedSchemaVersion = meta.schemaVersion
            status.skippedEvents = meta.skipped
            status.sourceChanged = stored.source != source.identity
            if case .store = source {
                if !status.sourceChanged {
                    status.orgCheckpoints = stored.orgCheckpoints
                    status.checkpoint = stored.orgCheckpoints.values.reduce(0, +)
                }
            } else {
                status.checkpoint = meta.checkpoint
            }
        }
        return status
    }

    // MARK: Writing

    /// Brings the model up to its source's head: continues from the checkpoint(s), or rebuilds
    /// when the schema version changed, the file is missing, it was built from another source, or
    /// a checkpoint is beyond its source's end.
    @discardableResult
    public func catchUp() throws -> CatchUpReport {
        try withWriterLock {
            // A rebuild file here belongs to a rebuild that died (the lock says none is running).
            if FileManager.default.fileExists(atPath: rebuildPath) {
                logger.notice("projection \(name): removing the file of an interrupted rebuild")
                removeFiles(rebuildPath)
            }
            let head = try sourceHead()
            var reason: String?
            if !FileManager.default.fileExists(atPath: path) {
                reason = "no model file yet"
            } else {
                let stored: StoredState?
                do {
                    let writer = try openWriter(path: path, fresh: false)
                    defer { writer.close() }
                    stored = try writer.queue.read { try StoredState.load($0, name: name) }
                } catch {
                    stored = nil
                    logger.warning("projection \(name): the model file is unreadable (\(error)); rebuilding")
                }
                if let stored, let meta = stored.meta {
                    if meta.schemaVersion != projector.schemaVersion {
                        reason = "schema version \(meta.schemaVersion) → \(projector.schemaVersion)"
                    } else if stored.source != source.identity {
                        reason = "built from \(stored.source ?? "the event log"), now fed from \(source)"
                    } else if let heads = head.orgs {
                        if let (org, applied) = stored.orgCheckpoints.sorted(by: { $0.key < $1.key }).first(where: { $0.value > heads[$0.key, default: 0] }) {
                            reason = "checkpoint \(applied) of org \(org) is beyond its last position \(heads[org, default: 0]) (the store lost events)"
                        }
                    } else if meta.checkpoint > head.total {
                        reason = "checkpoint \(meta.checkpoint) is beyond the log's last seq \(head.total) (the log lost its tail)"
                    }
                } else {
                    reason = "the model file has no checkpoint"
                }
            }
            if let reason { return try rebuildLocked(reason: reason, head: head) }
            return try continueLocked(head: head)
        }
    }

    /// Rebuilds the model from the start of its source into a new file and swaps it in,
    /// whatever its state.
    @discardableResult
    public func rebuild() throws -> CatchUpReport {
        try withWriterLock { try rebuildLocked(reason: "requested", head: try sourceHead()) }
    }

    /// Keeps the model current until the task is cancelled: catches up, then looks for new
    /// events every `pollInterval`. Each catch-up runs on the blocking queue, off the pool.
    public func follow(pollInterval: Duration = .milliseconds(ProjectionLimits.followPollMilliseconds)) async throws {
        while !Task.isCancelled {
            let report = try await BlockingIO.run { () throws(any Error) -> CatchUpReport in try self.catchUp() }
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

    private func continueLocked(head: SourceHead) throws -> CatchUpReport {
        let start = now()
        let writer = try openWriter(path: path, fresh: false)
        defer { writer.close() }
        var report: CatchUpReport
        switch source {
        case .log(let logDirectory):
            let meta = try writer.readMeta(name: name) ?? Meta(schemaVersion: projector.schemaVersion, checkpoint: 0, skipped: 0)
            report = CatchUpReport(name: name, rebuilt: false, rebuildReason: nil, eventsScanned: 0, eventsApplied: 0,
                                   eventsSkipped: 0, checkpoint: meta.checkpoint, seconds: 0)
            if meta.checkpoint < head.total {
                try writer.apply(projector: projector, reader: LogReader(directory: logDirectory), from: meta.checkpoint + 1,
                                 head: head.total, meta: meta, batchEvents: ProjectionLimits.catchUpBatchEvents, logger: logger,
                                 report: &report)
            }
        case .store(let store):
            let stored = try writer.queue.read { try StoredState.load($0, name: name) }
            report = CatchUpReport(name: name, rebuilt: false, rebuildReason: nil, eventsScanned: 0, eventsApplied: 0,
                                   eventsSkipped: 0, checkpoint: 0, seconds: 0)
            var meta = stored.meta ?? Meta(schemaVersion: projector.schemaVersion, checkpoint: 0, skipped: 0)
            try writer.apply(projector: projector, store: store, heads: head.orgs ?? [:], checkpoints: stored.orgCheckpoints, meta: &meta,
                             batchEvents: ProjectionLimits.catchUpBatchEvents, logger: logger, report: &report)
        }
        report.seconds = now() - start
        if report.eventsScanned > 0 {
            logger.debug("projection \(name): applied \(report.eventsApplied) of \(report.eventsScanned) events up to #\(report.checkpoint)")
        }
        return report
    }

    private func rebuildLocked(reason: String, head: SourceHead) throws -> CatchUpReport {
        let start = now()
        logger.info("projection \(name): rebuilding from \(source) (\(reason)); \(head.total) events")
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        removeFiles(rebuildPath)
        var report = CatchUpReport(name: name, rebuilt: true, rebuildReason: reason, eventsScanned: 0, eventsApplied: 0,
                                   eventsSkipped: 0, checkpoint: 0, seconds: 0)
        do {
            let writer = try openWriter(path: rebuildPath, fresh: true)
            do {
                try writer.create(projector: projector, source: source)
                var meta = Meta(schemaVersion: projector.schemaVersion, checkpoint: 0, skipped: 0)
                switch source {
                case .log(let logDirectory):
                    try writer.apply(projector: projector, reader: LogReader(directory: logDirectory), from: 1, head: head.total,
                                     meta: meta, batchEvents: ProjectionLimits.rebuildBatchEvents, logger: logger, report: &report)
                case .store(let store):
                    try writer.apply(projector: projector, store: store, heads: head.orgs ?? [:], checkpoints: [:], meta: &meta,
                                     batchEvents: ProjectionLimits.rebuildBatchEvents, logger: logger, report: &report)
                }
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

    /// How far the source goes: the log's last seq, from the segment indexes (no event is
    /// decompressed), or each org's head in the store.
    func sourceHead() throws -> SourceHead {
        switch source {
        case .log(let logDirectory):
            let reader = LogReader(directory: logDirectory)
            guard reader.exists else { return .log(0) }
            do {
                return .log(try reader.stats().lastSeq)
            } catch {
                throw ProjectionError(.log, "cannot read the event log at \(logDirectory)", cause: error)
            }
        case .store(let store):
            do {
                return .orgs(try store.headsBlocking())
            } catch {
                throw ProjectionError(.log, "cannot read the orgs' heads in \(store)", cause: error)
            }
        }
    }

    private func removeFiles(_ base: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(base + suffix) }
    }
}

/// How far a source goes: one seq for the log, a position per org for a store.
enum SourceHead {
    case log(UInt64)
    case orgs([String: UInt64])

    var total: UInt64 {
        switch self {
        case .log(let seq): seq
        case .orgs(let heads): heads.values.reduce(0, +)
        }
    }

    var orgs: [String: UInt64]? {
        if case .orgs(let heads) = self { return heads }
        return nil
    }
}

/// What a model file holds about itself: its meta row, the store it follows (nil when built
/// from the log) and, fed from a store, its per-org checkpoints.
struct StoredState {
    var meta: Meta?
    var source: String?
    var orgCheckpoints: [String: UInt64]

    static func load(_ db: Database, name: String) throws -> StoredState {
        StoredState(meta: try Meta.load(db, name: name), source: try StoreCheckpoints.source(db, name: name),
                    orgCheckpoints: try StoreCheckpoints.all(db))
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

/// A store-fed model's own tables: the store it follows and the last position applied in each
/// org, written in the same transaction as the rows. A model fed from the log has neither.
enum StoreCheckpoints {
    static let createSQL = """
        CREATE TABLE IF NOT EXISTS projection_source (
            name TEXT PRIMARY KEY NOT NULL,
            source TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS projection_org_checkpoints (
            org TEXT PRIMARY KEY NOT NULL,
            checkpoint_seq INTEGER NOT NULL
        ) WITHOUT ROWID
        """

    /// The store's address the model was built from; nil for a model built from the log.
    static func source(_ db: Database, name: String) throws -> String? {
        guard try db.tableExists("projection_source") else { return nil }
        return try String.fetchOne(db, sql: "SELECT source FROM projection_source WHERE name = ?", arguments: [name])
    }

    static func saveSource(_ db: Database, name: String, source: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO projection_source (name, source) VALUES (?, ?)", arguments: [name, source])
    }

    static func all(_ db: Database) throws -> [String: UInt64] {
        guard try db.tableExists("projection_org_checkpoints") else { return [:] }
        var out: [String: UInt64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT org, checkpoint_seq FROM projection_org_checkpoints") {
            out[row[0]] = UInt64(max(0, row[1] as Int64))
        }
        return out
    }

    static func checkpoint(_ db: Database, org: String) throws -> UInt64 {
        let seq = try Int64.fetchOne(db, sql: "SELECT checkpoint_seq FROM projection_org_checkpoints WHERE org = ?", arguments: [org])
        return UInt64(max(0, seq ?? 0))
    }

    static func save(_ db: Database, org: String, checkpoint: UInt64) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO projection_org_checkpoints (org, checkpoint_seq) VALUES (?, ?)",
                       arguments: [org, Int64(checkpoint)])
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

    func create(projector: any Projector, source: ProjectionSource) throws {
        try queue.write { db in
            try db.execute(sql: Meta.createSQL)
            try db.execute(sql: projector.schemaSQL)
            try Meta(schemaVersion: projector.schemaVersion, checkpoint: 0, skipped: 0).save(db, name: projector.name)
            if let identity = source.identity {
                try db.execute(sql: StoreCheckpoints.createSQL)
                try StoreCheckpoints.saveSource(db, name: projector.name, source: identity)
            }
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
                        switch try Self.applyOne(record, projector: projector, types: types, db: db, meta: &meta, logger: logger) {
                        case .applied: applied += 1
                        case .skipped: skipped += 1
                        case .ignored: break
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

    /// Applies, org by org in name order, the events of every org whose head in `heads` is past
    /// its checkpoint, in transactions of at most `batchEvents`, each ending with the org's new
    /// checkpoint. Orgs are independent (every row is keyed by its org), so their order does not
    /// matter; within an org, events are applied in position order.
    func apply(projector: any Projector, store: any EventStore, heads: [String: UInt64], checkpoints: [String: UInt64], meta: inout Meta,
               batchEvents: Int, logger: Logger, report: inout CatchUpReport) throws {
        let types = projector.eventTypes
        let name = projector.name
        let total = heads.values.reduce(0, +)
        var done = checkpoints.values.reduce(0, +)
        var applied = checkpoints
        var lastProgress = now()
        for (org, head) in heads.sorted(by: { $0.key < $1.key }) where head > applied[org, default: 0] {
            var next = applied[org, default: 0] + 1
            while next <= head {
                let batch: [StoredEvent]
                do {
                    batch = try store.eventsBlocking(org: org, from: next, until: head, limit: min(batchEvents, ProjectionLimits.storeReadEventsMax))
                } catch {
                    throw ProjectionError(.log, "projection \(name): cannot read org \(org) from \(store)", cause: error)
                }
                guard let last = batch.last else { break }
                var counts = (scanned: 0, applied: 0, skipped: 0)
                let metaBefore = meta
                do {
                    try queue.writeWithoutTransaction { db in
                        try db.execute(sql: "BEGIN IMMEDIATE")
                        do {
                            // No other writer can have moved on (the lock file), but a stale read
                            // must never mean a double apply.
                            let stored = try StoreCheckpoints.checkpoint(db, org: org)
                            for event in batch where event.seq > stored {
                                counts.scanned += 1
                                let outcome = try event.withRecord { record in
                                    try Self.applyOne(record, projector: projector, types: types, db: db, meta: &meta, logger: logger)
                                }
                                switch outcome {
                                case .applied: counts.applied += 1
                                case .skipped: counts.skipped += 1
                                case .ignored: break
                                }
                            }
                            try StoreCheckpoints.save(db, org: org, checkpoint: max(stored, last.seq))
                            try meta.save(db, name: name)
                            try db.execute(sql: "COMMIT")
                        } catch {
                            try? db.execute(sql: "ROLLBACK")
                            throw error
                        }
                    }
                } catch let error as ProjectionError {
                    meta = metaBefore
                    throw error
                } catch let error as DatabaseError {
                    meta = metaBefore
                    throw ProjectionError(.storage, "projection \(name): SQLite failed", cause: error)
                } catch {
                    meta = metaBefore
                    throw ProjectionError(.storage, "projection \(name): cannot apply the events of org \(org)", cause: error)
                }
                report.eventsScanned += counts.scanned
                report.eventsApplied += counts.applied
                report.eventsSkipped += counts.skipped
                done += last.seq + 1 - next
                applied[org] = last.seq
                next = last.seq + 1
                let t = now()
                if t - lastProgress >= ProjectionLimits.progressIntervalSeconds {
                    lastProgress = t
                    logger.info("projection \(name): org \(org) #\(last.seq) of \(head); \(done) of \(total) positions (\(total > 0 ? Int(Double(done) * 100 / Double(total)) : 100)%)")
                }
            }
        }
        report.orgCheckpoints = applied
        report.checkpoint = applied.values.reduce(0, +)
    }

    enum ApplyOutcome { case applied, skipped, ignored }

    /// Applies one event when the projector handles its type. An undecodable one is skipped,
    /// counted in `meta` and logged (the first few); any other error aborts the transaction.
    @inline(__always)
    static func applyOne(_ record: EventRecord, projector: any Projector, types: Set<String>, db: Database, meta: inout Meta,
                         logger: Logger) throws -> ApplyOutcome {
        guard types.contains(record.type) else { return .ignored }
        do {
            let event = try ProjectedEvent(record)
            try projector.apply(event, db)
            return .applied
        } catch let error as ProjectionError where error.code == .undecodableEvent {
            meta.skipped += 1
            if meta.skipped <= ProjectionLimits.skippedEventsLoggedMax {
                logger.warning("projection \(projector.name): skipped event #\(record.seq) of org \(record.org): \(error.message)")
            }
            return .skipped
        }
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
