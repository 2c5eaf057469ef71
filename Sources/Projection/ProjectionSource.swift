import Dispatch
import EventStore
import PurserCore

/// Where a read model's events come from.
///
/// The embedded log numbers events globally, so a model fed from it keeps one checkpoint (the
/// last seq applied) and reads the segment files directly, the fast path of a rebuild. A store
/// behind the seam (PostgreSQL) numbers events per org, so a model fed from it keeps one
/// checkpoint per org and, at each catch-up, reads every org whose head has moved past its own.
public enum ProjectionSource: Sendable, CustomStringConvertible {
    /// The embedded log in `directory` (`DATA/eventlog`), read with `LogReader`.
    case log(directory: String)
    /// Any store behind the seam, read org by org through `scan`.
    case store(any EventStore)

    public var description: String {
        switch self {
        case .log(let directory): "the event log at \(directory)"
        case .store(let store): store.description
        }
    }

    /// What a model file records as the source it follows: nothing for the log (files built from
    /// it never recorded one, and need not), the store's address without its options for a store,
    /// so a model is never continued from positions of another store.
    var identity: String? {
        guard case .store(let store) = self else { return nil }
        let text = store.description
        return text.firstIndex(of: "?").map { String(text[..<$0]) } ?? text
    }

    /// Whether positions are per org (a store) rather than the log's one global seq.
    public var isStore: Bool {
        if case .store = self { return true }
        return false
    }
}

/// Waits on the calling thread for async work on the seam (`BlockingIO.wait`).
///
/// A catch-up is synchronous: GRDB transactions and the apply loop are blocking code, and run on
/// a dispatch queue or a thread of their own (`ProjectionSet`, `ProjectionStore.follow` and the
/// pipeline's read-model queue keep them off the cooperative pool), while the seam is async.
func waitForStore<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    try BlockingIO.wait(work)
}

extension EventStore {
    /// Each org's head, from `orgs()` and `head(org:)`.
    func headsBlocking() throws -> [String: UInt64] {
        try waitForStore {
            var heads: [String: UInt64] = [:]
            for org in try await self.orgs() { heads[org] = try await self.head(org: org) }
            return heads
        }
    }

    /// At most `limit` events of `org` from `from` through `until`, in position order: one
    /// transaction's worth for the catch-up.
    func eventsBlocking(org: String, from: UInt64, until: UInt64, limit: Int) throws -> [StoredEvent] {
        try waitForStore {
            var out: [StoredEvent] = []
            try await self.scan(EventQuery(org: org, fromSeq: from, untilSeq: until), batchEventsMax: limit) { batch in
                out = batch
                return false
            }
            return out
        }
    }
}

