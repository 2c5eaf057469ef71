import EventLog
import EventStore
import Logging
import PostgresNIO
import PostgresStore
import Projection
import PurserCore

/// One read model in PostgreSQL: its schema, its checkpoints, its catch-up and its rebuild.
///
/// Layout: the model's tables live in a schema of their own, `rm_<name>_v<version>_g<generation>`,
/// with a `checkpoints` table (one row per org: the last position applied). `purser_read_models`
/// (migration 4) names the live schema of each model. Readers resolve it there.
///
/// Exactly once: a catch-up of an org is one transaction that locks the org's checkpoint row,
/// reads the org's events after it, applies them and moves the checkpoint. Two nodes catching up
/// the same org queue on that row lock; the second finds the checkpoint moved and applies only
/// what follows. The org's events up to its head are all committed when the head is read (the
/// append numbers them under the head's row lock, docs/POSTGRES.md), so no event is passed by.
///
/// Swap: a model of another schema version, or a rebuild, is built into a new schema while
/// readers go on using the live one. Once built, one transaction points `purser_read_models` at
/// it and drops the old schema. `DROP SCHEMA` waits for the readers of the old tables to finish,
/// so a reader sees the old model or the new one, never a half-built one. A reader whose schema
/// has gone by the time it asks resolves the new one and asks again.
public final class PostgresReadModel: Sendable {
    public let projector: any PostgresProjector
    public let store: PostgresEventStore
    let logger: Logger
    private let live = Locked<String?>(nil)

    /// Events applied per transaction.
    public static let batchEventsMax = 5000
    /// Orgs caught up at once during a build.
    public static let orgsAtOnce = 4

    public init(projector: any PostgresProjector, store: PostgresEventStore, logger: Logger) {
        precondition(projector.name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") },
                     "a read model's name is part of a schema name: lowercase letters, digits and _")
        self.projector = projector
        self.store = store
        self.logger = logger
    }

    public var name: String { projector.name }

    /// The schema a generation of this build's version is built in.
    func schemaName(generation: Int) -> String {
        "rm_\(projector.name)_v\(projector.schemaVersion)_g\(generation)"
    }

    static func quoted(_ schema: String) -> String { "\"" + schema + "\"" }

    // MARK: - Registry

    /// What `purser_read_models` says of this model.
    public struct Registration: Sendable, Hashable {
        public var version: Int
        public var generation: Int
        public var schema: String
    }

    public func registration() async throws -> Registration? {
        try await store.withRetry("read the registration of read model \(name)") {
            let rows = try await self.store.client.query(
                "SELECT version, generation, schema_name FROM purser_read_models WHERE name = \(self.name)", logger: self.logger)
            for try await (version, generation, schema) in rows.decode((Int, Int, String).self) {
                return Registration(version: version, generation: generation, schema: schema)
            }
            return nil
        }
    }

    // MARK: - Preparing, building and swapping

    /// Makes the model usable and returns its live schema: builds it when it was never built or
    /// is of another schema version (swapped in when complete), else catches it up. A model of a
    /// newer version is left alone and refused: a newer Purser owns it.
    @discardableResult
    public func prepare() async throws -> PostgresCatchUpReport {
        if let registered = try await registration() {
            if registered.version > projector.schemaVersion {
                throw PostgresReadModelError.newerVersion(name: name, stored: registered.version, mine: projector.schemaVersion)
            }
            if registered.version == projector.schemaVersion, try await schemaExists(registered.schema) {
                live.withLock { $0 = registered.schema }
                return try await catchUpAll(schema: registered.schema)
            }
        }
        return try await build(generation: 1, fresh: false)
    }

    /// Builds the model again from the log into a new schema and swaps it in; readers use the
    /// old one until then.
    @discardableResult
    public func rebuild() async throws -> PostgresCatchUpReport {
        let registered = try await registration()
        let generation = registered.map { $0.version == projector.schemaVersion ? $0.generation + 1 : 1 } ?? 1
        return try await build(generation: generation, fresh: true)
    }

    private func build(generation: Int, fresh: Bool) async throws -> PostgresCatchUpReport {
        let schema = schemaName(generation: generation)
        let started = ContinuousClock.now
        logger.info("read model \(name): building \(schema) in PostgreSQL")
        try await createSchema(schema, fresh: fresh)
        var report = try await catchUpAll(schema: schema)
        try await swap(to: schema, generation: generation)
        report.rebuilt = true
        report.seconds = (ContinuousClock.now - started).seconds
        logger.info("read model \(name): \(schema) is live (\(report.eventsApplied) events applied)")
        return report
    }

    private func lock(_ connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext('purser_read_model'), hashtext(\(name)))", logger: logger)
    }

    private func schemaExists(_ schema: String) async throws -> Bool {
        try await store.withRetry("look up schema \(schema)") {
            let rows = try await self.store.client.query("SELECT to_regclass(\(Self.quoted(schema) + ".checkpoints"))::text", logger: self.logger)
            for try await name in rows.decode(String?.self) { return name != nil }
            return false
        }
    }

    /// Creates `schema` with the model's tables, unless it holds them already (a build that was
    /// cut off resumes from its checkpoints); `fresh` drops what a cut-off build left first.
    private func createSchema(_ schema: String, fresh: Bool) async throws {
        let quoted = Self.quoted(schema)
        try await store.withRetry("create schema \(schema)") {
            try await self.store.client.withTransaction(logger: self.logger) { connection in
                try await self.lock(connection)
                var live: String?
                for try await name in try await connection.query(
                    "SELECT schema_name FROM purser_read_models WHERE name = \(self.name)", logger: self.logger).decode(String.self) { live = name }
                if fresh, live != schema {
                    try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(quoted) CASCADE"), logger: self.logger)
                }
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(quoted)"), logger: self.logger)
                var exists = false
                for try await name in try await connection.query("SELECT to_regclass(\(quoted + ".checkpoints"))::text", logger: self.logger)
                    .decode(String?.self) { exists = name != nil }
                if exists { return }
                for statement in self.projector.schemaStatements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement.replacingOccurrences(of: "{schema}", with: quoted)), logger: self.logger)
                }
                try await connection.query(PostgresQuery(unsafeSQL: """
                    CREATE TABLE \(quoted).checkpoints (org text COLLATE "C" PRIMARY KEY, seq bigint NOT NULL)
                    """), logger: self.logger)
            }
        }
    }

    /// Points the registry at `schema` and drops the schema it replaces, in one transaction.
    private func swap(to schema: String, generation: Int) async throws {
        try await store.withRetry("swap in schema \(schema)") {
            try await self.store.client.withTransaction(logger: self.logger) { connection in
                try await self.lock(connection)
                var current: Registration?
                for try await (version, gen, name) in try await connection.query(
                    "SELECT version, generation, schema_name FROM purser_read_models WHERE name = \(self.name) FOR UPDATE",
                    logger: self.logger).decode((Int, Int, String).self) {
                    current = Registration(version: version, generation: gen, schema: name)
                }
                if let current, current.version > self.projector.schemaVersion {
                    throw PostgresReadModelError.newerVersion(name: self.name, stored: current.version, mine: self.projector.schemaVersion)
                }
                if current?.schema == schema { return }
                try await connection.query("""
                    INSERT INTO purser_read_models (name, version, generation, schema_name) VALUES (\(self.name), \(self.projector.schemaVersion), \(generation), \(schema))
                    ON CONFLICT (name) DO UPDATE SET version = excluded.version, generation = excluded.generation,
                        schema_name = excluded.schema_name, built_at = now()
                    """, logger: self.logger)
                if let old = current?.schema {
                    try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(Self.quoted(old)) CASCADE"), logger: self.logger)
                }
            }
        }
        live.withLock { $0 = schema }
    }

    // MARK: - Reading

    /// The live schema's name, as the registry names it (cached until a read finds it gone).
    public func liveSchema() async throws -> String {
        if let known = live.withLock({ $0 }) { return known }
        guard let registered = try await registration(), registered.version == projector.schemaVersion else {
            throw PostgresReadModelError.notBuilt(name: name)
        }
        live.withLock { $0 = registered.schema }
        return registered.schema
    }

    /// Runs `body` with the live schema (quoted); once more with the registry's current one when
    /// the schema was swapped away under it (undefined table or schema).
    public func withLiveSchema<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let schema = try await liveSchema()
        do {
            return try await body(Self.quoted(schema))
        } catch where Self.schemaWentAway(error) {
            live.withLock { if $0 == schema { $0 = nil } }
            return try await body(Self.quoted(try await liveSchema()))
        }
    }

    /// A read of the live model: `sql` with `{schema}` where the live schema goes, retried while
    /// the server is away (and once more on the new schema after a swap); each row through `row`.
    public func rows<T: Sendable>(_ what: String, _ sql: String, _ binds: PostgresBindings,
                                  _ row: @escaping @Sendable (PostgresRandomAccessRow) throws -> T) async throws -> [T] {
        let store = self.store, logger = self.logger
        return try await withLiveSchema { schema in
            let query = PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "{schema}", with: schema), binds: binds)
            return try await store.withRetry(what) {
                var out: [T] = []
                for try await r in try await store.client.query(query, logger: logger) { out.append(try row(r.makeRandomAccess())) }
                return out
            }
        }
    }

    /// Whether a read failed because its schema was dropped (swapped away) under it: the driver's
    /// error itself, or inside the store's `server` error, which is what `withRetry` makes of it.
    static func schemaWentAway(_ error: any Error) -> Bool {
        let psql = PostgresEventStore.driverError(error) ?? ((error as? PostgresStoreError)?.cause).flatMap(PostgresEventStore.driverError)
        let state: String = psql?.serverInfo?[.sqlState] ?? ""
        return state == "42P01" || state == "3F000"
    }

    // MARK: - Catching up

    /// Applies every event of `org` the live model has not seen; cheap (one query) when there is
    /// none. Returns the events applied.
    @discardableResult
    public func catchUp(org: String) async throws -> Int {
        try await withLiveSchema { schema in
            let behind = try await self.store.withRetry("check read model \(self.name) for org \(org)") {
                let rows = try await self.store.client.query(PostgresQuery(unsafeSQL: """
                    SELECT coalesce((SELECT seq FROM purser_org_heads WHERE org = $1), 0) > coalesce((SELECT seq FROM \(schema).checkpoints WHERE org = $1), 0)
                    """, binds: Self.binds(org)), logger: self.logger)
                for try await behind in rows.decode(Bool.self) { return behind }
                return false
            }
            guard behind else { return 0 }
            var report = PostgresCatchUpReport(name: self.name)
            try await self.catchUp(org: org, schema: schema, report: &report)
            return report.eventsApplied
        }
    }

    /// Catches the live model up with every org.
    @discardableResult
    public func catchUpAll() async throws -> PostgresCatchUpReport {
        try await withLiveSchema { schema in try await self.catchUpAll(schema: String(schema.dropFirst().dropLast())) }
    }

    /// Catches `schema` up with every org whose head is past its checkpoint, a few orgs at once.
    func catchUpAll(schema: String) async throws -> PostgresCatchUpReport {
        let quoted = Self.quoted(schema)
        let started = ContinuousClock.now
        let orgs: [String] = try await store.withRetry("list orgs behind read model \(name)") {
            var out: [String] = []
            let rows = try await self.store.client.query(PostgresQuery(unsafeSQL: """
                SELECT h.org FROM purser_org_heads h LEFT JOIN \(quoted).checkpoints c ON c.org = h.org
                 WHERE h.seq > coalesce(c.seq, 0) ORDER BY h.org
                """), logger: self.logger)
            for try await org in rows.decode(String.self) { out.append(org) }
            return out
        }
        var total = PostgresCatchUpReport(name: name)
        try await withThrowingTaskGroup(of: PostgresCatchUpReport.self) { group in
            var next = orgs.makeIterator()
            func start() -> Bool {
                guard let org = next.next() else { return false }
                group.addTask {
                    var report = PostgresCatchUpReport(name: self.name)
                    try await self.catchUp(org: org, schema: quoted, report: &report)
                    return report
                }
                return true
            }
            for _ in 0..<Self.orgsAtOnce where !start() { break }
            while let report = try await group.next() {
                total.add(report)
                _ = start()
            }
        }
        total.seconds = (ContinuousClock.now - started).seconds
        return total
    }

    /// One org, batch by batch, each batch one transaction ending with the new checkpoint.
    private func catchUp(org: String, schema quoted: String, report: inout PostgresCatchUpReport) async throws {
        let types = Array(projector.eventTypes).sorted()
        while true {
            let step = try await store.withRetry("catch up read model \(name) for org \(org)") {
                try await self.store.client.withTransaction(logger: self.logger) { connection -> PostgresCatchUpReport in
                    var step = PostgresCatchUpReport(name: self.name)
                    try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO \(quoted).checkpoints (org, seq) VALUES ($1, 0) ON CONFLICT (org) DO NOTHING",
                                                             binds: Self.binds(org)), logger: self.logger)
                    var checkpoint: Int64 = 0, head: Int64 = 0
                    for try await (c, h) in try await connection.query(PostgresQuery(unsafeSQL: """
                        SELECT c.seq, coalesce((SELECT seq FROM purser_org_heads WHERE org = $1), 0) FROM \(quoted).checkpoints c WHERE c.org = $1 FOR UPDATE
                        """, binds: Self.binds(org)), logger: self.logger).decode((Int64, Int64).self) {
                        checkpoint = c
                        head = h
                    }
                    step.orgCheckpoints[org] = UInt64(checkpoint)
                    guard head > checkpoint else { return step }
                    var binds = PostgresBindings()
                    binds.append(org)
                    binds.append(checkpoint)
                    binds.append(head)
                    binds.append(types)
                    binds.append(Int64(Self.batchEventsMax))
                    var events: [ProjectedEvent] = []
                    var last = checkpoint
                    var read = 0
                    let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                        SELECT seq, id, stream, stream_version, type, ts_ms, body FROM purser_events
                         WHERE org = $1 AND seq > $2 AND seq <= $3 AND type = ANY($4) ORDER BY seq LIMIT $5
                        """, binds: binds), logger: self.logger)
                    for try await (seq, id, stream, version, type, ts, body) in rows.decode((Int64, String, String, Int32, String, Int64, String).self) {
                        read += 1
                        last = seq
                        let stored = StoredEvent(org: org, seq: UInt64(seq), id: id, stream: stream, streamVersion: UInt32(version), type: type,
                                                 timestampMs: ts, line: storedEnvelopeLine(seq: UInt64(seq), body: body.utf8))
                        do {
                            events.append(try stored.withRecord { try ProjectedEvent($0) })
                        } catch {
                            step.eventsSkipped += 1
                            self.logger.warning("read model \(self.name): skipped event #\(seq) of org \(org): \(error)")
                        }
                    }
                    let skipped = try await self.projector.apply(events, org: org, schema: quoted, on: connection, logger: self.logger)
                    step.eventsSkipped += skipped
                    step.eventsApplied += events.count - skipped
                    step.eventsScanned += read
                    let reached = read < Self.batchEventsMax ? head : last
                    try await connection.query(PostgresQuery(unsafeSQL: "UPDATE \(quoted).checkpoints SET seq = $2 WHERE org = $1",
                                                             binds: Self.binds(org, reached)), logger: self.logger)
                    step.orgCheckpoints[org] = UInt64(reached)
                    step.more = reached < head
                    return step
                }
            }
            report.add(step)
            if !step.more { return }
        }
    }

    static func binds(_ org: String, _ seq: Int64? = nil) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(org)
        if let seq { binds.append(seq) }
        return binds
    }

    // MARK: - Status

    /// The model as `purser projections status` shows it.
    public struct Status: Sendable {
        public var name: String
        public var schemaVersion: Int
        public var storedSchemaVersion: Int?
        public var schema: String?
        public var checkpoints: [String: UInt64]
        public var heads: [String: UInt64]
        public var checkpoint: UInt64 { checkpoints.values.reduce(0, +) }
        public var logHead: UInt64 { heads.values.reduce(0, +) }
        public var lag: UInt64 {
            var total: UInt64 = 0
            for (org, head) in heads {
                let applied: UInt64 = checkpoints[org] ?? 0
                if head > applied { total += head - applied }
            }
            return total
        }
        public var needsRebuild: Bool { storedSchemaVersion != schemaVersion }
    }

    public func status() async throws -> Status {
        let registered = try await registration()
        var status = Status(name: name, schemaVersion: projector.schemaVersion, storedSchemaVersion: registered?.version,
                            schema: registered?.schema, checkpoints: [:], heads: [:])
        let schema = registered.map { Self.quoted($0.schema) }
        var exists = false
        if let registered { exists = try await schemaExists(registered.schema) }
        var sql = "SELECT org, seq, 0::bigint FROM purser_org_heads WHERE seq > 0"
        if exists, let schema {
            sql = "SELECT h.org, h.seq, coalesce(c.seq, 0) FROM purser_org_heads h LEFT JOIN \(schema).checkpoints c ON c.org = h.org WHERE h.seq > 0"
        }
        let query = sql
        let (heads, checkpoints) = try await store.withRetry("read the status of read model \(name)") {
            var heads: [String: UInt64] = [:], checkpoints: [String: UInt64] = [:]
            for try await (org, head, checkpoint) in try await self.store.client.query(PostgresQuery(unsafeSQL: query), logger: self.logger)
                .decode((String, Int64, Int64).self) {
                heads[org] = UInt64(head)
                checkpoints[org] = UInt64(checkpoint)
            }
            return (heads, checkpoints)
        }
        status.heads = heads
        status.checkpoints = checkpoints
        return status
    }
}

/// What a catch-up or build did.
public struct PostgresCatchUpReport: Sendable {
    public var name: String
    public var eventsScanned = 0
    public var eventsApplied = 0
    public var eventsSkipped = 0
    public var orgCheckpoints: [String: UInt64] = [:]
    public var rebuilt = false
    public var seconds = 0.0
    var more = false

    public init(name: String) {
        self.name = name
    }

    mutating func add(_ other: PostgresCatchUpReport) {
        eventsScanned += other.eventsScanned
        eventsApplied += other.eventsApplied
        eventsSkipped += other.eventsSkipped
        orgCheckpoints.merge(other.orgCheckpoints) { max($0, $1) }
    }
}

public enum PostgresReadModelErrorCode: String, Sendable {
    /// The model in the database was built by a newer Purser.
    case newerVersion = "read_model_newer"
    /// The model was never built for this build's schema version.
    case notBuilt = "read_model_not_built"
}

/// The one error of this module.
public typealias PostgresReadModelError = CodedError<PostgresReadModelErrorCode>

extension CodedError where Code == PostgresReadModelErrorCode {
    static func newerVersion(name: String, stored: Int, mine: Int) -> Self {
        Self(.newerVersion, "the \(name) read model in PostgreSQL is at schema version \(stored), newer than this build's \(mine); upgrade purser")
    }

    static func notBuilt(name: String) -> Self {
        Self(.notBuilt, "the \(name) read model has not been built in PostgreSQL for this version; run purser projections rebuild \(name) with --database")
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

extension PostgresBindings {
    /// Bindings `$1`, `$2`, … of `values`, in order.
    static func of(_ values: any PostgresDynamicTypeEncodable...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        return binds
    }
}
