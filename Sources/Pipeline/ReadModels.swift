import CRMProjection
import Foundation
import GRDB
import Logging
import Projection
import PurserCore
import ReadModelCatalog

/// The read models the pipeline reads, and the means to have one current up to a given seq.
///
/// The engine keeps what it must read back immediately (routing, sessions, contacts, spend) in
/// memory, loaded from these models when first needed; it only has to catch a model up before a
/// read when it wrote something that model shows (a tool created a contact, then a query lists
/// contacts). Catch-ups run on a dispatch queue of their own: they block on SQLite and the log,
/// which the cooperative thread pool must not.
public final class ReadModelSync: Sendable {
    public let set: ProjectionSet
    private let caughtUp: Locked<[String: UInt64]>
    private let queue = DispatchQueue(label: "purser.pipeline.read-models")
    private let readers: Locked<[String: DatabaseQueue]>
    private let logger: Logger

    public init(dataDirectory: String, logger: Logger) {
        set = ProjectionSet(projectors: ReadModelCatalog.projectors, dataDirectory: dataDirectory, logger: logger)
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

    /// Catches every model up with the log (rebuilding where the schema changed); at start.
    public func catchUpAll() throws(PipelineError) {
        for store in set.stores {
            do {
                let report = try store.catchUp()
                caughtUp.withLock { $0[store.name] = report.checkpoint }
            } catch {
                throw PipelineError(.readModelFailed, "cannot catch up the \(store.name) read model; try `purser projections rebuild \(store.name)`", cause: error)
            }
        }
    }

    /// `catchUpAll` on `BlockingIO`'s queue: starting an engine from a task must not block the pool.
    public func catchUpAllOffPool() async throws(PipelineError) {
        try await BlockingIO.run { () throws(PipelineError) in try self.catchUpAll() }
    }

    /// Makes sure `name` has applied every event up to `seq`.
    public func ensure(_ name: String, upTo seq: UInt64) async throws(PipelineError) {
        if caughtUp.withLock({ $0[name, default: 0] }) >= seq { return }
        let store = try store(name)
        let result: Result<UInt64, any Error> = await withCheckedContinuation { continuation in
            queue.async {
                // Another waiter may have caught it up while this one queued.
                if self.caughtUp.withLock({ $0[name, default: 0] }) >= seq {
                    continuation.resume(returning: .success(seq))
                    return
                }
                do {
                    let report = try store.catchUp()
                    continuation.resume(returning: .success(report.checkpoint))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        switch result {
        case .success(let checkpoint):
            caughtUp.withLock { $0[name] = max($0[name, default: 0], checkpoint) }
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
