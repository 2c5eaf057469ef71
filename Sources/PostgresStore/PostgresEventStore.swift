import Crypto
import EventLog
import EventStore
import Logging
import PostgresNIO
import PurserCore

/// The event log in PostgreSQL (docs/POSTGRES.md).
///
/// Order: each org's events are numbered 1, 2, 3, … with no gaps. The number is taken under the
/// org's head row lock, which the appending transaction holds until it commits; PostgreSQL makes
/// a commit visible before it releases the transaction's locks, so seq n+1 can only be taken once
/// n is visible, and a rolled-back append gives its numbers back. A reader that has seen seq n of
/// an org and asks for what follows can therefore never be passed by a later commit of a smaller
/// number: there is none. No gap detection, no timeouts.
///
/// Durability: an append is acknowledged when the single statement that carries it
/// (`purser_append_calls`, one round trip, with the appends that were waiting beside it: the
/// group commit) has committed, with the server's `synchronous_commit` deciding what committed
/// means.
/// When the connection breaks before the answer arrives, the outcome is unknown: the append is
/// sent again, and the ids it already stored come back as duplicates with their first seqs, so
/// nothing is stored twice and nothing acknowledged is lost.
public final class PostgresEventStore: EventStore {
    public let url: PostgresURL
    package let client: PostgresClient
    private let runner: Task<Void, Never>
    package let logger: Logger
    /// How long an append keeps retrying a connection that broke or a server that restarts.
    public let retrySecondsMax: Double
    /// How long one attempt may take before it is presumed lost with its connection and sent
    /// again (safe: the retry is de-duplicated by event id).
    let attemptLimit: Duration = .seconds(5)
    /// How long a readiness check waits for the server.
    static let readyCheckLimit: Duration = .seconds(2)
    /// Appends waiting for the commit in flight go together in the next (GroupCommit).
    let commits: GroupCommit

    /// Connects (the pool runs in a task of its own until `close`) and, unless told not to,
    /// brings the schema up to date.
    public static func open(url: PostgresURL, connectionsMax: Int = 32, migrate: Bool = true, retrySecondsMax: Double = 30,
                            logger: Logger) async throws -> PostgresEventStore {
        let store = PostgresEventStore(url: url, connectionsMax: connectionsMax, retrySecondsMax: retrySecondsMax, logger: logger)
        do {
            if migrate { _ = try await store.migrate() } else { _ = try await store.schemaVersion() }
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private init(url: PostgresURL, connectionsMax: Int, retrySecondsMax: Double, logger: Logger) {
        self.url = url
        self.logger = logger
        self.retrySecondsMax = retrySecondsMax
        commits = GroupCommit(flushesMax: max(1, min(2, connectionsMax / 2)), batchEventsMax: AppendLimits.appendEventsMax)
        let client = PostgresClient(configuration: url.clientConfiguration(connectionsMax: connectionsMax), backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }

    public var description: String { url.description }

    /// Closes the pool; appends still running fail.
    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    // MARK: - Schema

    /// Applies the migrations this database has not seen, in order; returns the versions applied
    /// (empty when it was current). Safe to run from several processes at once.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await withRetry("migrate") {
            try await self.client.withTransaction(logger: self.logger) { connection in
                // One lock for the whole schema: a second node waits here and then finds it current.
                try await connection.query("SELECT pg_advisory_xact_lock(7220315633)", logger: self.logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS purser_migrations (
                        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: self.logger)
                var done = Set<Int>()
                for try await version in try await connection.query("SELECT version FROM purser_migrations", logger: self.logger).decode(Int.self) {
                    done.insert(version)
                }
                if let newest = done.max(), newest > Migrations.latest {
                    throw PostgresStoreError(.schemaTooNew, "the database at \(self.url) has schema version \(newest), newer than this build's \(Migrations.latest); upgrade purser")
                }
                var applied: [Int] = []
                for migration in Migrations.all where !done.contains(migration.version) {
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                    }
                    try await connection.query("INSERT INTO purser_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                                               logger: self.logger)
                    applied.append(migration.version)
                }
                return applied
            }
        }
    }

    /// The newest migration applied; throws `schemaTooNew` for a database a newer build migrated.
    public func schemaVersion() async throws -> Int {
        try await withRetry("read the schema version") { try await self.schemaVersionAttempt() }
    }

    private func schemaVersionAttempt() async throws -> Int {
        let exists = try await client.query("SELECT to_regclass('purser_migrations') IS NOT NULL", logger: logger)
        for try await present in exists.decode(Bool.self) where !present { return 0 }
        var newest = 0
        for try await v in try await client.query("SELECT coalesce(max(version), 0) FROM purser_migrations", logger: logger).decode(Int.self) {
            newest = v
        }
        if newest > Migrations.latest {
            throw PostgresStoreError(.schemaTooNew, "the database at \(url) has schema version \(newest), newer than this build's \(Migrations.latest); upgrade purser")
        }
        return newest
    }

    /// Ready when the server answers and every migration this build knows has been applied
    /// (`unavailable` or `schema_too_old` otherwise; `schema_too_new` from `schemaVersion`).
    /// One attempt of at most `readyCheckLimit`: a probe must answer, not wait out the retries.
    public func checkReady() async throws {
        let version: Int
        do {
            version = try await Self.within(Self.readyCheckLimit) { try await self.schemaVersionAttempt() }
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            throw PostgresStoreError(.unavailable, "PostgreSQL at \(url) did not answer within \(Self.readyCheckLimit)", cause: error)
        }
        if version < Migrations.latest {
            throw PostgresStoreError(.schemaTooOld, "the database at \(url) has schema version \(version), this build needs \(Migrations.latest); run purser db migrate")
        }
    }

    /// Whether every migration this build knows has been applied.
    public var isCurrent: Bool {
        get async throws { try await schemaVersion() == Migrations.latest }
    }

    // MARK: - Appending

    /// Appends the drafts atomically (all orgs' or none), each org's in the order given.
    ///
    /// Like the embedded log: an id already stored in its org is not stored again (its first seq
    /// comes back, marked duplicate); when every draft is such a duplicate the expectations are
    /// not checked; otherwise a stream not at its expected version fails the whole append with
    /// `LogError.versionConflict` and stores nothing.
    public func append(_ drafts: [EventDraft], expecting: [ExpectedVersion] = []) async throws -> AppendResult {
        guard !drafts.isEmpty else { return AppendResult(seqs: [], duplicates: []) }
        if drafts.count > AppendLimits.appendEventsMax {
            throw LogError(.invalidEvent, "an append holds at most \(AppendLimits.appendEventsMax) events, not \(drafts.count); split it")
        }
        // Validated and encoded once, before anything is sent; then committed with whatever
        // other appends are waiting (GroupCommit), in one statement.
        let call = try AppendCall(drafts: drafts, expecting: expecting)
        switch try await commits.submit(call, to: self) {
        case .stored(let seqs, let duplicates):
            return AppendResult(seqs: seqs, duplicates: duplicates)
        case .conflict(let message):
            throw LogError(.versionConflict, message)
        }
    }

    // MARK: - Reading

    /// The version of one stream of an org (0 when it has no events).
    public func streamVersion(org: String, stream: String) async throws -> UInt32 {
        try await withRetry("read a stream version") {
            let rows = try await self.client.query(
                "SELECT coalesce(max(stream_version), 0) FROM purser_events WHERE org = \(org) AND stream = \(stream)", logger: self.logger)
            for try await v in rows.decode(Int32.self) { return UInt32(v) }
            return 0
        }
    }

    /// The last seq of an org (0 when it has none).
    public func head(org: String) async throws -> UInt64 {
        try await withRetry("read an org's head") {
            let rows = try await self.client.query("SELECT seq FROM purser_org_heads WHERE org = \(org)", logger: self.logger)
            for try await v in rows.decode(Int64.self) { return UInt64(v) }
            return 0
        }
    }

    /// Every org with events, in name order.
    public func orgs() async throws -> [String] {
        try await withRetry("list orgs") {
            var out: [String] = []
            for try await org in try await self.client.query("SELECT org FROM purser_org_heads WHERE seq > 0 ORDER BY org", logger: self.logger).decode(String.self) {
                out.append(org)
            }
            return out
        }
    }

    /// One org's events from `fromSeq` through `untilSeq`, in seq order, optionally of one stream
    /// and of types starting with `typePrefix`, at most `limit`. `body` returns false to stop early.
    public func scan(org: String, stream: String? = nil, fromSeq: UInt64 = 1, untilSeq: UInt64 = UInt64(Int64.max), typePrefix: String? = nil,
                     limit: Int? = nil, _ body: (StoredEvent) throws -> Bool) async throws {
        let from = Int64(clamping: fromSeq), until = Int64(clamping: untilSeq)
        let limitValue = Int64(limit ?? Int(Int64.max))
        // NULL filters match everything: one statement, planned on (org, seq) or (org, type, seq).
        let query: PostgresQuery = """
            SELECT seq, id, stream, stream_version, type, ts_ms, body FROM purser_events
             WHERE org = \(org) AND seq BETWEEN \(from) AND \(until)
               AND (\(stream)::text IS NULL OR stream = \(stream))
               AND (\(typePrefix)::text IS NULL OR starts_with(type, \(typePrefix)))
             ORDER BY seq LIMIT \(limitValue)
            """
        let rows = try await client.query(query, logger: logger)
        for try await (seq, id, stream, version, type, ts, text) in rows.decode((Int64, String, String, Int32, String, Int64, String).self) {
            let event = StoredEvent(org: org, seq: UInt64(seq), id: id, stream: stream, streamVersion: UInt32(version), type: type,
                                    timestampMs: ts, line: storedEnvelopeLine(seq: UInt64(seq), body: text.utf8))
            if try !body(event) { break }
        }
    }

    /// The seam's read: one query per batch, each resuming after the last position it returned.
    public func scan(_ query: EventQuery, batchEventsMax: Int, _ body: ([StoredEvent]) async throws -> Bool) async throws {
        precondition(batchEventsMax > 0, "a read batch holds at least one event")
        var from = query.fromSeq
        while from <= query.untilSeq {
            let start = from
            let batch = try await withRetry("read org \(query.org)") {
                var out: [StoredEvent] = []
                try await self.scan(org: query.org, stream: query.stream, fromSeq: start, untilSeq: query.untilSeq,
                                    typePrefix: query.typePrefix, limit: batchEventsMax) { out.append($0); return true }
                return out
            }
            guard let last = batch.last else { return }
            if try await !body(batch) || batch.count < batchEventsMax { return }
            from = last.seq + 1
        }
    }

    /// One org's events as an array (for small ranges; `scan` streams).
    public func read(org: String, fromSeq: UInt64 = 1, untilSeq: UInt64 = UInt64(Int64.max), typePrefix: String? = nil,
                     limit: Int? = nil) async throws -> [StoredEvent] {
        var out: [StoredEvent] = []
        try await scan(org: org, fromSeq: fromSeq, untilSeq: untilSeq, typePrefix: typePrefix, limit: limit) { out.append($0); return true }
        return out
    }

    // MARK: - Retries

    /// Runs `work`, again after a broken connection or a server that is restarting, until
    /// `retrySecondsMax` has passed. Server errors are answers, not retried: a version conflict
    /// becomes `LogError.versionConflict`, anything else `PostgresStoreError.server`.
    package func withRetry<T: Sendable>(_ what: String, _ work: @Sendable @escaping () async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(retrySecondsMax * 1000))
        var pause = Duration.milliseconds(50)
        while true {
            // A cancelled caller (a follower whose reader went away) stops retrying.
            try Task.checkCancellation()
            do {
                return try await Self.within(min(deadline - clock.now, attemptLimit), work)
            } catch let error as PostgresStoreError {
                throw error
            } catch let error as LogError {
                throw error
            } catch is AttemptTimedOut {
                if clock.now >= deadline {
                    throw PostgresStoreError(.unavailable, "cannot \(what): PostgreSQL at \(url) did not answer for \(retrySecondsMax) s")
                }
                logger.warning("PostgreSQL did not answer in time; trying again", metadata: ["what": "\(what)", "url": "\(url)"])
                continue
            } catch {
                // A transaction's failure carries the statement's error inside it. Anything else
                // (the pool could not open a connection) counts as the server being away.
                guard let psql = Self.driverError(error) else {
                    if clock.now >= deadline {
                        throw PostgresStoreError(.unavailable, "cannot \(what): PostgreSQL at \(url) did not answer for \(retrySecondsMax) s", cause: error)
                    }
                    logger.warning("PostgreSQL did not answer; trying again", metadata: ["what": "\(what)", "url": "\(url)"])
                    try await Task.sleep(for: pause)
                    pause = min(pause * 2, .seconds(1))
                    continue
                }
                if let state = psql.serverInfo?[.sqlState] {
                    let message = psql.serverInfo?[.message] ?? "no message"
                    if state == "PX409" { throw LogError(.versionConflict, message) }
                    // 57P01..57P03: the server is shutting down or starting; 08xxx: connection trouble.
                    if !(state.hasPrefix("57P") || state.hasPrefix("08")) {
                        throw PostgresStoreError(.server, "PostgreSQL at \(url) refused to \(what): \(message) (SQLSTATE \(state))", cause: psql)
                    }
                }
                if clock.now >= deadline {
                    throw PostgresStoreError(.unavailable, "cannot \(what): PostgreSQL at \(url) did not answer for \(Int(retrySecondsMax)) s", cause: psql)
                }
                logger.warning("PostgreSQL did not answer; trying again", metadata: ["what": "\(what)", "url": "\(url)", "error": "\(psql.code)"])
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(1))
            }
        }
    }

    /// Runs `work`, giving up after `limit` (a lease waiting for a server that is down would wait
    /// for ever). What was sent before the give-up may still commit: the caller's retry with the
    /// same ids finds it.
    static func within<T: Sendable>(_ limit: Duration, _ work: @Sendable @escaping () async throws -> T) async throws -> T {
        // Unstructured on purpose: a task group would wait for a child that ignores cancellation
        // (a request on a connection the server dropped), which is the case this bounds.
        let once = ResumeOnce<T>()
        return try await withCheckedThrowingContinuation { continuation in
            once.set(continuation)
            let worker = Task {
                do { once.resume(.success(try await work())) } catch { once.resume(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: max(limit, .milliseconds(1)))
                if once.resume(.failure(AttemptTimedOut())) { worker.cancel() }
            }
        }
    }

    /// The driver's error behind `error`: itself, or what failed inside a transaction.
    package static func driverError(_ error: any Error) -> PSQLError? {
        if let psql = error as? PSQLError { return psql }
        if let tx = error as? PostgresTransactionError {
            for inner in [tx.closureError, tx.beginError, tx.commitError] {
                if let inner, let psql = driverError(inner) { return psql }
            }
        }
        return nil
    }
}

struct AttemptTimedOut: Error {}

/// A continuation resumed by whichever of two tasks finishes first.
final class ResumeOnce<T: Sendable>: Sendable {
    private let box = Locked<CheckedContinuation<T, any Error>?>(nil)

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        box.withLock { $0 = continuation }
    }

    /// Resumes if nobody did yet; true when this call did.
    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        let taken = box.withLock { current -> CheckedContinuation<T, any Error>? in
            defer { current = nil }
            return current
        }
        taken?.resume(with: result)
        return taken != nil
    }
}
