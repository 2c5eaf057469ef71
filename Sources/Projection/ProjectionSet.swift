import Foundation
import Logging
import PurserCore

/// The read models of one data directory, caught up or rebuilt together.
///
/// Each model has its own file, lock and checkpoint(s), so they are independent: catch-ups and
/// rebuilds run in parallel, one thread per model, each reading its source itself, and a failure
/// of one does not stop the others from finishing.
public struct ProjectionSet: Sendable {
    public let stores: [ProjectionStore]

    /// The models of `dataDirectory`, fed from its own event log.
    public init(projectors: [any Projector], dataDirectory: String, logger: Logger) {
        stores = projectors.map { ProjectionStore(projector: $0, dataDirectory: dataDirectory, logger: logger) }
    }

    /// The models of `dataDirectory` (`DATA/projections`), fed from `source`.
    public init(projectors: [any Projector], dataDirectory: String, source: ProjectionSource, logger: Logger) {
        stores = projectors.map { ProjectionStore(projector: $0, dataDirectory: dataDirectory, source: source, logger: logger) }
    }

    public init(stores: [ProjectionStore]) {
        self.stores = stores
    }

    /// The store named `name`.
    public func store(_ name: String) throws(ProjectionError) -> ProjectionStore {
        guard let store = stores.first(where: { $0.name == name }) else {
            throw ProjectionError(.unknownProjection, "no read model is named \"\(name)\"; known: \(stores.map(\.name).joined(separator: ", "))")
        }
        return store
    }

    /// The stores named `names` (all of them for an empty list), in the order given.
    public func select(_ names: [String]) throws(ProjectionError) -> [ProjectionStore] {
        if names.isEmpty { return stores }
        var out: [ProjectionStore] = []
        for name in names { out.append(try store(name)) }
        return out
    }

    /// Catches up (or, with `rebuild`, rebuilds) `stores` in parallel; the reports come back in
    /// the stores' order. The first error is thrown after every model has finished. The work
    /// runs on threads of its own (`runBlocking`), waited for on the blocking queue: it blocks on
    /// SQLite, files and a store's reads, which the cooperative pool must not.
    public static func run(_ stores: [ProjectionStore], rebuild: Bool) async throws -> [CatchUpReport] {
        try await BlockingIO.run { () throws(any Error) -> [CatchUpReport] in try runBlocking(stores, rebuild: rebuild) }
    }

    /// `run(_:rebuild:)` for callers without an async context (the command line, tests): one
    /// thread per model, joined before returning. Threads rather than tasks, because the work
    /// blocks on SQLite and file I/O and must not occupy the cooperative pool's few threads
    /// (on 2 cores, a caller blocked waiting on pool tasks could starve them).
    public static func runBlocking(_ stores: [ProjectionStore], rebuild: Bool) throws -> [CatchUpReport] {
        let results = Locked([Result<CatchUpReport, any Error>?](repeating: nil, count: stores.count))
        let group = DispatchGroup()
        for (i, store) in stores.enumerated() {
            group.enter()
            let thread = Thread {
                let result = Result { rebuild ? try store.rebuild() : try store.catchUp() }
                results.withLock { $0[i] = result }
                group.leave()
            }
            thread.stackSize = ProjectionLimits.workerStackBytes
            thread.start()
        }
        group.wait()
        return try results.withLock { $0 }.map { try $0!.get() }
    }
}
