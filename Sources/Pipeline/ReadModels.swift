import CRMProjection
import EventStore
import Foundation
import GRDB
import Logging
import Projection
import PurserCore
import ReadModelCatalog

/// The read models the pipeline reads, and the means to have one current up to a given position.
///
/// The engine keeps what it must read back immediately (routing, sessions, contacts, spend) in
/// memory, loaded from these models when first needed; it only has to catch a model up before a
/// read when it wrote something that model shows (a tool created a contact, then a query lists
/// contacts). Catch-ups run on a dispatch queue of their own: they block on SQLite and the log,
/// which the cooperative thread pool must not.
///
/// Positions: fed from the embedded log, a model has one checkpoint, the log's global seq, which
/// every org's positions are comparable with; fed from a store (PostgreSQL) it has one per org,
/// and "current up to seq n of org o" compares with o's own checkpoint.
public final class ReadModelSync: Sendable {
    public let set: ProjectionSet
    /// Whether positions are per org (a store) rather than the log's global seq.
    public let positionsPerOrg: Bool
    /// Model → the checkpoint a catch-up reached: under the key "" for the log, per org for a store.
    private let caughtUp: Locked<[String: [String: UInt64]]>
    private let queue = DispatchQueue(label: "purser.pipeline.read-models")
    private let readers: Locked<[String: DatabaseQueue]>
    private let logger: Logger

    /// The models of `dataDirectory`, fed from its own event log.
    public convenience init(dataDirectory: String, logger: Logger) {
        self.init(dataDirectory: dataDirectory, source: .log(directory: dataDirectory + "/eventlog"), logger: logger)
    }

    /// The models of `dataDirectory`, fed from `source`.
    public init(dataDirectory: String, source: ProjectionSource, logger: Logger) {
        set = ProjectionSet(projectors: ReadModelCatalog.projectors, dataDirectory: dataDirectory, source: source, logger: logger)
        positionsPerOrg = source.isStore
        caughtUp = Locked([:])
        readers = Locked([:])
        self.logger = logger
    }

    public func store(_ name: String) throws(PipelineError) -> ProjectionStore {
        do {
            return try set.store(name)
        } catch {
            throw PipelineError(.readModelFailed, "no read model named \(name)", cause: error)
        }
    }

    private func record(_ report: CatchUpReport, of name: String) {
        caughtUp.withLock { known in
            if positionsPerOrg {
                known[name, default: [:]].merge(report.orgCheckpoints) { max($0, $1) }
            } else {
                known[name, default: [:]][""] = max(known[name]?[""] ?? 0, report.checkpoint)
            }
        }
    }

    private func reached(_ name: String, org: String) -> UInt64 {
        caughtUp.withLock { $0[name]?[positionsPerOrg ? org : ""] ?? 0 }
    }

    /// Catches every model up with the log (rebuilding where the schema changed); at start.
    public func catchUpAll() throws(PipelineError) {
        for store in set.stores {
            do {
                record(try store.catchUp(), of: store.name)
            } catch {
                throw PipelineError(.readModelFailed, "cannot catch up the \(store.name) read model; try `purser projections rebuild \(store.name)`", cause: error)
            }
        }
    }

    /// `catchUpAll` on `BlockingIO`'s queue: starting an engine from a task must not block the pool.
    public func catchUpAllOffPool() async throws(PipelineError) {
        try await BlockingIO.run { () throws(PipelineError) in try self.catchUpAll() }
    }

    /// Makes sure `name` has applied every event of `org` up to `seq` (a global seq when fed
    /// from the log, `org`'s own position when fed from a store).
    public func ensure(_ name: String, org: String, upTo seq: UInt64) async throws(PipelineError) {
        if reached(name, org: org) >= seq { return }
        try await catchUp(name) { self.reached(name, org: org) >= seq }
    }

    /// Brings `name` up to the source's head now (for reads that must see every write, of any
    /// process): up to `logHead` when fed from the log, else every org's head.
    public func refresh(_ name: String, logHead: UInt64) async throws(PipelineError) {
        if !positionsPerOrg, reached(name, org: "") >= logHead { return }
        try await catchUp(name) { !self.positionsPerOrg && self.reached(name, org: "") >= logHead }
    }

    /// One catch-up of `name` on the model queue, unless `done` already holds when its turn comes
    /// (another waiter caught it up while this one queued).
    private func catchUp(_ name: String, unless done: @escaping @Sendable () -> Bool) async throws(PipelineError) {
        let store = try store(name)
        let result: Result<CatchUpReport?, any Error> = await withCheckedContinuation { continuation in
            queue.async {
                if done() {
                    continuation.resume(returning: .success(nil))
                    return
                }
                do {
                    continuation.resume(returning: .success(try store.catchUp()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        switch result {
        case .success(let report):
            if let report { record(report, of: name) }
        case .failure(let error):
            throw PipelineError(.readModelFailed, "cannot catch up the \(name) read model", cause: error)
        }
    }

    /// Reads `name` as it is now (callers `ensure` first when they need their own writes), on a
    /// long-lived read-only connection: the engine reads per message, and opening SQLite each
    /// time would cost more than the query.
    public func read<T>(_ name: String, _ body: (Database) throws -> T) throws(PipelineError) -> T {
        do {
            return try connection(name).read(body)
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the \(name) read model", cause: error)
        }
    }

    /// `read` off the cooperative pool (`BlockingIO`): what the engine's turns use, since SQLite
    /// blocks and a turn runs on the pool.
    public func read<T: Sendable>(_ name: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(PipelineError) -> T {
        try await BlockingIO.run { () throws(PipelineError) -> T in try self.readBlocking(name, body) }
    }

    private func readBlocking<T>(_ name: String, _ body: (Database) throws -> T) throws(PipelineError) -> T {
        try read(name, body)
    }

    /// A long-lived read-only connection to the crm model for the tools' queries.
    public func crmDatabase() throws(PipelineError) -> DatabaseQueue {
        try connection(CRMProjector.name)
    }

    /// The read-only connection to `name`, opened on first use after the start-up catch-up (no
    /// rebuild swaps a model's file while the engine runs: rebuilds happen at start).
    private func connection(_ name: String) throws(PipelineError) -> DatabaseQueue {
        let store = try store(name)
        do {
            return try readers.withLock { readers in
                if let reader = readers[name] { return reader }
                var config = Configuration()
                config.readonly = true
                config.busyMode = .timeout(ProjectionLimits.busyTimeoutSeconds)
                config.label = "pipeline.\(name).read"
                let opened = try DatabaseQueue(path: store.path, configuration: config)
                readers[name] = opened
                return opened
            }
        } catch {
            throw PipelineError(.readModelFailed, "cannot open the \(name) read model at \(store.path)", cause: error)
        }
    }
}

extension Pipeline {
    /// Runs a read of a model kept in the store (`PipelineOptions`' readers), its failure a
    /// `readModelFailed`.
    static func sharedRead<T: Sendable>(_ body: () async throws -> T) async throws(PipelineError) -> T {
        do {
            return try await body()
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError(.readModelFailed, "cannot read a read model kept in the store", cause: error)
        }
    }
}
