import EventLog
import PurserCore

/// Copies every org's events from one store into another, byte for byte: the embedded log into
/// PostgreSQL (`purser store migrate`) and back (`purser store export`).
///
/// Each org's events keep their order and their exact envelope bytes; positions are the target's
/// own (the embedded log's are global, PostgreSQL's per org). Running it again copies nothing
/// twice: what the target already holds of an org must be the start of the source's history of
/// that org, byte for byte, and is skipped; a target that holds anything else is refused before
/// anything is written.
public struct EventCopier: Sendable {
    /// Where the copy stands, for a progress line.
    public struct Progress: Sendable {
        public var org: String
        /// The org's events copied or found already there, and how many it has.
        public var done: UInt64
        public var total: UInt64
        /// The org's first report (before its first batch).
        public var starting: Bool
    }

    /// What a copy did.
    public struct Summary: Sendable, Equatable {
        public var orgs = 0
        /// Events written to the target.
        public var copied: UInt64 = 0
        /// Events the target already held (an earlier run's).
        public var present: UInt64 = 0
    }

    /// Orgs at once into PostgreSQL (`purser store migrate`): enough to fill its group commit's
    /// batches on two cores.
    public static let postgresOrgsAtOnce = 4

    public let source: any EventStore
    public let target: any EventStore
    /// Events per append (and per read).
    public var batchEventsMax: Int
    /// Orgs copied at the same time. 1 writes org after org (what an export into a data
    /// directory wants: each org's events together); more keeps a store that commits concurrent
    /// appends together busy (PostgreSQL's group commit). Each org's own events keep their order
    /// either way.
    public var orgsAtOnce: Int

    public init(from source: any EventStore, to target: any EventStore, batchEventsMax: Int = 1000, orgsAtOnce: Int = 1) {
        precondition(batchEventsMax > 0 && batchEventsMax <= AppendLimits.appendEventsMax, "a copy batch is 1…\(AppendLimits.appendEventsMax) events")
        precondition(orgsAtOnce > 0, "a copy copies at least one org at a time")
        self.source = source
        self.target = target
        self.batchEventsMax = batchEventsMax
        self.orgsAtOnce = orgsAtOnce
    }

    /// Checks every org first (nothing is written to a target that holds different events),
    /// then copies `orgsAtOnce` orgs at a time, calling `progress` after each batch.
    public func run(progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Summary {
        let totals = try await source.stats().eventsPerOrg
        let orgs = try await source.orgs()
        var resume: [String: (sourceAfter: UInt64, present: UInt64)] = [:]
        for org in orgs {
            resume[org] = try await alreadyCopied(org)
        }
        for org in try await target.orgs() where totals[org] == nil {
            throw LogError(.invalidEvent, "\(target) holds events of org \(org), which \(source) does not have; copy into an empty store")
        }
        var summary = Summary()
        summary.orgs = orgs.count
        try await withThrowingTaskGroup(of: (copied: UInt64, present: UInt64).self) { group in
            var next = 0
            func start() {
                let org = orgs[next], (after, present) = resume[org]!, total = totals[org] ?? 0
                next += 1
                group.addTask { try await copy(org, after: after, present: present, total: total, progress: progress) }
            }
            while next < min(orgsAtOnce, orgs.count) { start() }
            while let done = try await group.next() {
                summary.copied += done.copied
                summary.present += done.present
                if next < orgs.count { start() }
            }
        }
        return summary
    }

    /// One org's events after source position `after` (the `present` before it are there already).
    private func copy(_ org: String, after start: UInt64, present: UInt64, total: UInt64,
                      progress: @Sendable (Progress) -> Void) async throws -> (copied: UInt64, present: UInt64) {
        var after = start, done = present, copied: UInt64 = 0
        progress(Progress(org: org, done: done, total: total, starting: true))
        while true {
            let batch = try await page(source, org, after: after, batchEventsMax)
            guard let last = batch.last else { break }
            let drafts = try batch.map(Self.draft)
            let result = try await target.append(drafts)
            if let i = result.duplicates.firstIndex(of: true) {
                throw LogError(.invalidEvent, "org \(org): event \(batch[i].id) is already in \(target) at another place in the org's history; the target was written to during the copy")
            }
            copied += UInt64(batch.count)
            done += UInt64(batch.count)
            after = last.seq
            progress(Progress(org: org, done: done, total: total, starting: false))
        }
        return (copied, present)
    }

    /// How much of `org` the target already holds: compared with the source's first events,
    /// byte for byte. Returns the source position to resume after and the count found.
    func alreadyCopied(_ org: String) async throws -> (sourceAfter: UInt64, present: UInt64) {
        var sourceAfter: UInt64 = 0, targetAfter: UInt64 = 0, present: UInt64 = 0
        while true {
            let held = try await page(target, org, after: targetAfter, batchEventsMax)
            guard !held.isEmpty else { return (sourceAfter, present) }
            let original = try await page(source, org, after: sourceAfter, held.count)
            for (k, event) in held.enumerated() {
                guard k < original.count, original[k].body == event.body else {
                    throw LogError(.invalidEvent, "\(target) holds different events of org \(org) than \(source) (its event \(event.id) at seq \(event.seq) is not the source's \(present + 1)th event); copy into an empty store")
                }
                present += 1
            }
            sourceAfter = original[held.count - 1].seq
            targetAfter = held[held.count - 1].seq
        }
    }

    func page(_ store: any EventStore, _ org: String, after: UInt64, _ count: Int) async throws -> [StoredEvent] {
        try await store.events(EventQuery(org: org, fromSeq: after + 1), limit: count)
    }

    /// The draft that a store turns back into exactly `event`'s stored body; refused when the
    /// body would not come back byte for byte.
    static func draft(_ event: StoredEvent) throws -> EventDraft {
        var envelope: [UInt8] = [123]
        envelope.append(contentsOf: event.body)
        let draft = try EnvelopeParser.parse(envelope)
        guard try draft.storedBody().elementsEqual(event.body) else {
            throw LogError(.invalidEvent, "org \(event.org), seq \(event.seq): event \(event.id) cannot be stored again byte for byte; it was not written by Purser's envelope encoder")
        }
        return draft
    }
}
