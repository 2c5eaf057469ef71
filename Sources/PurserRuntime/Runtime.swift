import EventLog
import EventStore
import Foundation
import LLM
import Logging
import Pipeline
import PostgresReadModels
import PostgresStore
import Prometheus
import PurserCore
import PurserDomain

/// The composition root: what opens the log, the read models, the model providers and the tool
/// catalog, and hands out the engine's parts. The command line and the server start here; nothing
/// below it opens a store of its own.
///
/// The store is the embedded log of the data directory, or PostgreSQL when a database URL is
/// given; the read models are SQLite files under the data directory either way, fed from the
/// store (per-org positions for PostgreSQL).
///
/// Owns the store: `close()` closes it, after everything that appends has stopped (a server
/// stops HTTP first and the runtime last).
public final class Runtime: Sendable {
    /// Where the events are: the embedded log or PostgreSQL.
    public let store: any EventStore
    /// The embedded log, when that is the store.
    public let log: EventLog?
    /// Small shared documents (the access tokens): the data directory's files on the embedded
    /// store, rows of PostgreSQL when nodes share a database.
    public let documents: any DocumentStore
    /// Turn processing.
    public let engine: Pipeline
    /// Each org's own secrets (model provider keys, webhook secrets), beside the environment's.
    public let secrets: OrgSecrets
    public let dataDirectory: String
    /// The engine's counters (events appended, turns by outcome, model call latency), which
    /// `purser serve` shows at `/metrics` in Prometheus's text format.
    public let metrics: PrometheusCollectorRegistry
    /// The read models kept in PostgreSQL (none on the embedded store).
    public let databaseModels: [PostgresReadModel]

    /// What people do to turns: approvals, takeover, human replies.
    public var humans: HumanActions { engine.humans }
    /// Changes to the agents while the engine runs.
    public var admin: AgentAdmin { engine.admin }
    /// The read models and the log, read off the cooperative pool.
    public var reads: ReadAPI { engine.reads }

    private init(store: any EventStore, log: EventLog?, documents: any DocumentStore, engine: Pipeline, secrets: OrgSecrets,
                 dataDirectory: String, metrics: PrometheusCollectorRegistry, databaseModels: [PostgresReadModel]) {
        self.metrics = metrics
        self.databaseModels = databaseModels
        self.store = store
        self.log = log
        self.documents = documents
        self.engine = engine
        self.secrets = secrets
        self.dataDirectory = dataDirectory
    }

    /// Opens the store — the data directory's log for writing (this process becomes its one
    /// writer), or the PostgreSQL database at `database` (its schema migrated first) — picks the
    /// model provider the environment names, and starts the engine (which catches the read models
    /// up first). `onRecovery` hears what the embedded log's crash recovery repaired.
    ///
    /// Opening the log reads and writes files (recovery), so it runs on `BlockingIO`'s queue, off
    /// the cooperative pool; the engine's own start-up reads are off the pool already.
    public static func open(dataDirectory: String, database: PostgresURL? = nil, options: PipelineOptions? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            logger: Logger, onRecovery: @escaping @Sendable (RecoveryReport) -> Void = { _ in }) async throws -> Runtime {
        var options = try options ?? RuntimeSettings.pipelineOptions(environment)
        let metrics = PrometheusCollectorRegistry()
        options.metrics = EngineMetrics(factory: PrometheusMetricsFactory(registry: metrics))
        let store: any EventStore
        let log: EventLog?
        var postgresModels: [PostgresReadModel] = []
        if let database {
            let postgres = try await PostgresEventStore.open(url: database, logger: logger)
            store = postgres
            log = nil
            // The read models kept in PostgreSQL: built (or caught up) before the engine starts,
            // as the node's SQLite models are.
            do {
                postgresModels = PostgresReadModelCatalog.projectors.map { PostgresReadModel(projector: $0, store: postgres, logger: logger) }
                for model in postgresModels { try await model.prepare() }
            } catch {
                await postgres.close()
                throw error
            }
            let readers = PostgresReaders(postgresModels)
            options.dataQueries = readers.dataQueries
            options.spend = readers.spend
            options.outbox = readers.outbox
            options.agents = readers.agents
            options.sessions = readers.sessions
            options.audit = readers.audit
        } else {
            let opened = try await BlockingIO.run { try EventLog.open(directory: dataDirectory + "/eventlog") }
            if !opened.recovery.isClean { onRecovery(opened.recovery) }
            store = EmbeddedEventStore(writer: opened)
            log = opened
        }
        do {
            let provider = try ProviderSelection.provider(environment: environment, logger: logger)
            let prices = try PriceTable.fromEnvironment(environment)
            let documents: any DocumentStore = (store as? PostgresEventStore).map { PostgresDocumentStore(events: $0) }
                ?? FileDocumentStore(root: dataDirectory)
            let secrets = OrgSecrets(documents: documents, dataDirectory: dataDirectory, environment: environment, logger: logger)
            // Each org's provider, built once and rebuilt after `orgProviderSecondsMax` (nil: the
            // engine's own), so a key set or changed from another node is in use within that time.
            let cache = Locked<[String: (provider: (any LLMProvider)?, madeAt: ContinuousClock.Instant)]>([:])
            let engine = try await Pipeline(dataDirectory: dataDirectory, store: store, embeddedLog: log, provider: provider,
                                            prices: prices, options: options,
                                            orgProvider: { org in
                                                let now = ContinuousClock.now
                                                if let known = cache.withLock({ $0[org] }), now - known.madeAt < Self.orgProviderSecondsMax {
                                                    return known.provider
                                                }
                                                // The org's credentials are files (or rows): read off the cooperative pool.
                                                let made = await BlockingIO.run { secrets.provider(for: org, prices: prices) }
                                                return cache.withLock { known in
                                                    // Another turn built it meanwhile: keep one provider per org.
                                                    if let first = known[org], first.madeAt >= now { return first.provider }
                                                    known[org] = (made, ContinuousClock.now)
                                                    return made
                                                }
                                            },
                                            logger: logger)
            return Runtime(store: store, log: log, documents: documents, engine: engine, secrets: secrets, dataDirectory: dataDirectory,
                           metrics: metrics, databaseModels: postgresModels)
        } catch {
            await store.close()
            throw error
        }
    }

    /// How long an org's own model provider (built from its credentials) is used before its
    /// credentials are read again.
    public static let orgProviderSecondsMax: Duration = .seconds(60)

    /// Closes the store; call once, when nothing appends any more.
    public func close() async {
        await store.close()
    }
}

/// The engine's tunables that the environment may set (documented in the README).
public enum RuntimeSettings {
    /// `PURSER_APPROVAL_EXPIRY_SECONDS` (how long an approval waits) and `PURSER_LLM_CONCURRENCY`
    /// (model calls at once) over the defaults; anything but a positive number is refused.
    public static func pipelineOptions(_ environment: [String: String]) throws(RuntimeError) -> PipelineOptions {
        var options = PipelineOptions()
        if let raw = environment["PURSER_APPROVAL_EXPIRY_SECONDS"] {
            guard let seconds = Double(raw), seconds > 0, seconds.isFinite else {
                throw RuntimeError(.badSetting, "PURSER_APPROVAL_EXPIRY_SECONDS must be a positive number of seconds, got \(raw)")
            }
            options.approvalExpirySeconds = seconds
        }
        if let raw = environment["PURSER_LLM_CONCURRENCY"] {
            guard let calls = Int(raw), calls > 0 else {
                throw RuntimeError(.badSetting, "PURSER_LLM_CONCURRENCY must be a positive number of calls, got \(raw)")
            }
            options.llmCallsInFlightMax = calls
        }
        return options
    }
}

/// The codes of `RuntimeError`.
public enum RuntimeErrorCode: String, Sendable, Hashable, CaseIterable {
    /// A setting from the environment that the runtime cannot start with.
    case badSetting = "bad_setting"
}

/// The one error type of `PurserRuntime`.
public typealias RuntimeError = CodedError<RuntimeErrorCode>
