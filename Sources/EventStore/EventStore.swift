import EventLog

/// The storage seam: what the engine needs of a store of events, implemented by the embedded log
/// (`EmbeddedEventStore`) and by PostgreSQL (`PostgresEventStore`).
///
/// Positions are per org. The embedded log numbers events globally and PostgreSQL per org, so
/// every read names an org, and a position (`seq`) only means something within its org: it grows
/// with each event of the org (by one on PostgreSQL, by the log's global steps on the embedded
/// store), and a reader that has seen position n resumes with `fromSeq: n + 1`.
public protocol EventStore: Sendable, CustomStringConvertible {
    /// Appends the drafts atomically (all or none), each org's in the order given. An id already
    /// stored in its org comes back as a duplicate with its first position and is not stored again;
    /// a stream not at its expected version fails the whole append with `LogError.versionConflict`.
    func append(_ drafts: [EventDraft], expecting: [ExpectedVersion]) async throws -> AppendResult

    /// The version of one stream of an org (0 when it has no events).
    func streamVersion(org: String, stream: String) async throws -> UInt32

    /// The position of an org's newest event (0 when it has none).
    func head(org: String) async throws -> UInt64

    /// Every org with events, in name order.
    func orgs() async throws -> [String]

    /// Hands `body` the events `query` selects in position order, in batches of at most
    /// `batchEventsMax`; `body` returns false to stop.
    func scan(_ query: EventQuery, batchEventsMax: Int, _ body: ([StoredEvent]) async throws -> Bool) async throws

    /// Checks the store's integrity (one org's, or all); each fault names the org and position
    /// where it was found when the store can tell.
    func verify(org: String?) async throws -> StoreVerifyReport

    /// How much the store holds.
    func stats() async throws -> StoreStats

    /// Whether the store can take work now: reachable, its schema what this build expects.
    /// Throws what stops it (for a server's readiness probe); the embedded log, open in this
    /// process, is always ready.
    func checkReady() async throws

    /// Releases the store; appends after this fail.
    func close() async
}

extension EventStore {
    public func checkReady() async throws {}
}

/// What a read selects: always one org (positions are per org), optionally one stream, event
/// types starting with a prefix, and an inclusive range of positions.
public struct EventQuery: Sendable, Hashable {
    public var org: String
    public var stream: String?
    public var typePrefix: String?
    public var fromSeq: UInt64
    public var untilSeq: UInt64

    public init(org: String, stream: String? = nil, typePrefix: String? = nil, fromSeq: UInt64 = 1, untilSeq: UInt64 = UInt64(Int64.max)) {
        self.org = org
        self.stream = stream
        self.typePrefix = typePrefix
        self.fromSeq = max(1, fromSeq)
        self.untilSeq = min(untilSeq, UInt64(Int64.max))
    }

    func matches(stream s: String, type t: String) -> Bool {
        (stream.map { $0 == s } ?? true) && (typePrefix.map { t.hasPrefix($0) } ?? true)
    }
}

/// One stored event: `line` is the envelope as a reader prints it (`{"seq":N,` and then the
/// producer's bytes, which are the same in every store); `seq` is its position within its org.
public struct StoredEvent: Sendable, Hashable {
    public var org: String
    public var seq: UInt64
    public var id: String
    public var stream: String
    public var streamVersion: UInt32
    public var type: String
    public var timestampMs: Int64
    public var line: [UInt8]

    public init(org: String, seq: UInt64, id: String, stream: String, streamVersion: UInt32, type: String, timestampMs: Int64, line: [UInt8]) {
        self.org = org
        self.seq = seq
        self.id = id
        self.stream = stream
        self.streamVersion = streamVersion
        self.type = type
        self.timestampMs = timestampMs
        self.line = line
    }

    /// The stored envelope without its leading `{"seq":N,`: the bytes that are identical in every
    /// store, whatever position each gave the event.
    public var body: ArraySlice<UInt8> {
        guard let comma = line.firstIndex(of: 44) else { return line[...] }
        return line[(comma + 1)...]
    }

    /// The event as the log's reader would hand it over, for code written against `LogReader`.
    public func withRecord<T>(_ body: (EventRecord) throws -> T) rethrows -> T {
        try line.withUnsafeBytes { json in
            try body(EventRecord(seq: seq, org: org, type: type, stream: stream, streamVersion: streamVersion, json: json))
        }
    }
}

/// What `verify` found. `segments`, `batches`, `lastSeq` and `headHash` are the embedded log's
/// (0 and empty on PostgreSQL, whose chain is per org).
public struct StoreVerifyReport: Sendable {
    public struct Fault: Sendable, CustomStringConvertible {
        /// The org whose events are affected, when the store can tell.
        public var org: String?
        /// The first position affected, when known.
        public var seq: UInt64?
        public var reason: String
        /// Where in the store (an embedded segment and offset), when it has such a place.
        public var location: String?

        public init(org: String?, seq: UInt64?, reason: String, location: String? = nil) {
            self.org = org
            self.seq = seq
            self.reason = reason
            self.location = location
        }

        public var description: String {
            var parts: [String] = []
            if let org { parts.append("org \(org)") }
            if let seq { parts.append("seq \(seq)") }
            if let location { parts.append(location) }
            return (parts.isEmpty ? "" : parts.joined(separator: ", ") + ": ") + reason
        }
    }

    public var orgs = 0
    public var events: UInt64 = 0
    public var segments = 0
    public var batches = 0
    public var lastSeq: UInt64 = 0
    public var headHash = ""
    public var faults: [Fault] = []
    /// Remarks that are not faults (a torn tail no acknowledged event was in, a stale index).
    public var notes: [String] = []
    public var ok: Bool { faults.isEmpty }

    public init() {}
}

/// How much a store holds.
public struct StoreStats: Sendable {
    public var events: UInt64
    public var orgs: Int
    /// The stored envelopes' bytes (uncompressed on the embedded store).
    public var bodyBytes: UInt64
    public var eventsPerOrg: [String: UInt64]

    public init(events: UInt64, orgs: Int, bodyBytes: UInt64, eventsPerOrg: [String: UInt64]) {
        self.events = events
        self.orgs = orgs
        self.bodyBytes = bodyBytes
        self.eventsPerOrg = eventsPerOrg
    }
}

extension EventStore {
    public func append(_ drafts: [EventDraft]) async throws -> AppendResult {
        try await append(drafts, expecting: [])
    }

    public func scan(_ query: EventQuery, _ body: ([StoredEvent]) async throws -> Bool) async throws {
        try await scan(query, batchEventsMax: EventStoreLimits.readBatchEventsMax, body)
    }

    /// The events `query` selects, at most `limit` (for small reads; `scan` streams).
    public func events(_ query: EventQuery, limit: Int = .max) async throws -> [StoredEvent] {
        var out: [StoredEvent] = []
        try await scan(query, batchEventsMax: min(limit, EventStoreLimits.readBatchEventsMax)) { batch in
            out.append(contentsOf: batch.prefix(limit - out.count))
            return out.count < limit
        }
        return out
    }

    /// Follows one org: every event `query` selects from `query.fromSeq` on, then each new one as
    /// it is stored, until the consumer stops iterating or the task is cancelled. Both stores
    /// make an org's position n+1 visible only after n, so resuming after the last position seen
    /// never skips an event.
    public func follow(_ query: EventQuery, pollInterval: Duration = .milliseconds(50)) -> AsyncThrowingStream<StoredEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<StoredEvent, any Error>.makeStream(bufferingPolicy: .bufferingOldest(EventStoreLimits.readBatchEventsMax))
        let task = Task {
            var next = query
            do {
                while !Task.isCancelled {
                    var delivered = false
                    try await scan(next) { batch in
                        for event in batch {
                            // Wait for room rather than drop: a slow consumer slows the follower.
                            while case .dropped = continuation.yield(event) {
                                try await Task.sleep(for: pollInterval)
                            }
                            next.fromSeq = event.seq + 1
                            delivered = true
                        }
                        return !Task.isCancelled
                    }
                    if !delivered { try await Task.sleep(for: pollInterval) }
                }
                continuation.finish()
            } catch is CancellationError {
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

/// Limits of the seam, with units last.
public enum EventStoreLimits {
    /// Events handed to a reader at a time.
    public static let readBatchEventsMax = 1024
}
