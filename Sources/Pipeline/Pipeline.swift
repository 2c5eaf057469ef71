import AgentsProjection
import EventLog
import EventStore
import Foundation
import GRDB
import LLM
import Logging
import PurserCore
import PurserDomain
import SessionsProjection
import SpendProjection
import Tools

/// The agent execution pipeline (docs/ARCHITECTURE.md, "The pipeline").
///
/// An inbound message goes through the stages in `Stages/`, each appending its events: identify
/// org and agent → load config → resolve the contact → open or reuse the session → guardrails →
/// build the context → LLM → tool loop under the policy → reply per autonomy level. Humans act
/// through the same engine (approvals, takeover), so their actions are ordered with the agent's.
///
/// Concurrency: the messages of one conversation are processed strictly in arrival order
/// (`admit` takes a ticket where the order is defined), conversations run in parallel, LLM calls
/// in flight are bounded, and the spend caps are reserved under a lock before every call.
/// Exactly-once: the `message.received` id is derived from the channel's message id, so the log
/// stores a message fed twice only once; a message found stored but not answered (the process
/// died mid-turn) is answered when fed again.
public final class Pipeline: Sendable {
    /// Where the engine's events go and are read back: the storage seam, so the engine runs the
    /// same on the embedded log and on PostgreSQL.
    let store: any EventStore
    /// The embedded log when that is the store: its global seq is the position the SQLite read
    /// models' checkpoints count, and the head `logHead` reports.
    let embeddedLog: EventLog?
    let provider: any LLMProvider
    /// An org's own provider (its own OpenRouter key or server, from its credentials), used only
    /// for that org's agents; nil falls back to the engine's provider.
    let orgProvider: @Sendable (String) async -> (any LLMProvider)?
    let prices: PriceTable
    let options: PipelineOptions
    public let clock: @Sendable () -> Timestamp
    let logger: Logger
    let models: ReadModelSync
    let registry: ToolRegistry
    let state: Locked<EngineState>
    let ledger: Locked<SpendLedger>
    let sequencer = KeyedSequencer()
    let llmSlots: AsyncSemaphore

    /// Opens the engine over an open log (the embedded store). Catches every read model up first
    /// (rebuilding those whose schema changed), then loads the agents and the pending approvals.
    public convenience init(dataDirectory: String, log: EventLog, provider: any LLMProvider, prices: PriceTable = .builtIn,
                            options: PipelineOptions = PipelineOptions(),
                            clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
                            registry: ToolRegistry? = nil, orgProvider: @escaping @Sendable (String) async -> (any LLMProvider)? = { _ in nil },
                            logger: Logger) async throws(PipelineError) {
        try await self.init(dataDirectory: dataDirectory, store: EmbeddedEventStore(writer: log), embeddedLog: log, provider: provider,
                            prices: prices, options: options, clock: clock, registry: registry, orgProvider: orgProvider, logger: logger)
    }

    /// Opens the engine over a store. The read models under `dataDirectory` are caught up first.
    public init(dataDirectory: String, store: any EventStore, embeddedLog: EventLog?, provider: any LLMProvider, prices: PriceTable = .builtIn,
                options: PipelineOptions = PipelineOptions(),
                clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
                registry: ToolRegistry? = nil, orgProvider: @escaping @Sendable (String) async -> (any LLMProvider)? = { _ in nil },
                logger: Logger) async throws(PipelineError) {
        self.store = store
        self.embeddedLog = embeddedLog
        self.provider = provider
        self.orgProvider = orgProvider
        self.prices = prices
        self.options = options
        self.clock = clock
        self.logger = logger
        // Fed from the log's files directly when that is the store (its fast path), else through the seam.
        models = ReadModelSync(dataDirectory: dataDirectory, source: embeddedLog.map { .log(directory: $0.directory) } ?? .store(store),
                               logger: logger)
        try await models.catchUpAllOffPool()
        if let registry {
            self.registry = registry
        } else {
            self.registry = ToolRegistry.standard(crm: try models.crmDatabase(), dataQueries: options.dataQueries)
        }
        state = Locked(EngineState())
        ledger = Locked(SpendLedger())
        llmSlots = AsyncSemaphore(options.llmCallsInFlightMax)
        try await loadAgents()
        try await loadPendingApprovals()
    }

    // MARK: - Appending

    /// Appends the turn's collected events as one atomic batch, acknowledged once durable.
    @discardableResult
    func flush(_ turn: inout TurnEvents, expecting: [ExpectedVersion] = []) async throws(PipelineError) -> AppendResult? {
        let writesCRM = turn.writesCRM
        let org = turn.org
        let drafts = turn.take()
        guard !drafts.isEmpty else { return nil }
        let result: AppendResult
        do {
            result = try await store.append(drafts, expecting: expecting)
        } catch {
            throw PipelineError(.appendFailed, "could not append \(drafts.count) event(s) to the log", cause: error)
        }
        options.metrics.appended.increment(by: result.duplicates.lazy.filter { !$0 }.count)
        if let last = result.seqs.max() {
            state.withLock { state in
                state.sessionsWritten[org] = max(state.sessionsWritten[org] ?? 0, last)
                if writesCRM { state.crmWritten[org] = max(state.crmWritten[org] ?? 0, last) }
            }
        }
        return result
    }

    // MARK: - Loading

    func loadAgents() async throws(PipelineError) {
        let records: [AgentRecord], routes: RoutingTable
        if let shared = options.agents {
            do {
                (records, routes) = (try await shared.agents(org: nil), try await shared.routingTable())
            } catch {
                throw PipelineError(.readModelFailed, "cannot read the agents read model", cause: error)
            }
        } else {
            (records, routes) = try await models.read(AgentsProjector.name) { db in
                (try AgentsQueries.agents(db, org: nil), try AgentsQueries.routingTable(db))
            }
        }
        state.withLock { state in
            state.routes = routes
            for record in records {
                state.agents[AgentRef(org: record.org, agentId: record.agentId)] =
                    AgentState(config: record.config, status: record.status, revision: record.revision)
            }
        }
    }

    /// The approvals requested and not yet decided, from each org's approval events.
    func loadPendingApprovals() async throws(PipelineError) {
        var pending: [String: PendingApproval] = [:]
        do {
            for org in try await store.orgs() {
                try await store.scan(EventQuery(org: org, typePrefix: "approval.")) { batch in
                    for event in batch {
                        // Stored envelopes carry `seq`, which `EnvelopeParser` (for appending) refuses; the
                        // JSON value reads them once.
                        guard let envelope = try? JSONValue(parsing: event.line), let data = envelope["data"] else { continue }
                        if event.type == ApprovalRequested.type {
                            if let request = try? EventCatalog.standard.decode(ApprovalRequested.self, version: Int(envelope["v"]?.doubleValue ?? 1),
                                                                                data: Data(data.serialized().utf8)) {
                                pending[request.approvalId] = PendingApproval(org: org, request: request,
                                                                              correlationId: envelope["correlationId"]?.stringValue ?? event.id,
                                                                              requestedEventId: event.id)
                            }
                        } else if let approvalId = data["approvalId"]?.stringValue {
                            pending[approvalId] = nil
                        }
                    }
                    return true
                }
            }
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the pending approvals from the log", cause: error)
        }
        state.withLock { $0.approvals = pending }
    }

    /// The version of `stream` in `org` (0: no event yet), for an append that expects it.
    func streamVersion(org: String, stream: String) async throws(PipelineError) -> UInt32 {
        if let embeddedLog { return embeddedLog.streamVersion(org: org, stream: stream) }  // in memory, no read
        do {
            return try await store.streamVersion(org: org, stream: stream)
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the version of \(stream) in \(org)", cause: error)
        }
    }

    func agent(_ ref: AgentRef) -> AgentState? {
        state.withLock { $0.agents[ref] }
    }

    // MARK: - Spend

    /// Today's caps entry, loaded from the spend read model the first time it is touched (the
    /// model was caught up at start; everything charged since went through this ledger).
    func ensureLedgerLoaded(org: String, agentId: String, day: String) async throws(PipelineError) {
        let key = SpendLedger.key(org: org, agentId: agentId, day: day)
        if ledger.withLock({ $0.days[key] != nil }) { return }
        let rows = try await spendRows(org: org, day: day)
        let row = rows.first { $0.agentId == agentId }
        ledger.withLock { ledger in
            if ledger.days[key] == nil {
                ledger.days[key] = SpendLedger.Day(chargedUsd: row?.usd ?? 0, chargedMessages: row?.messages ?? 0)
            }
        }
    }

    /// The spend model's rows of `org` (of one day): in PostgreSQL when the engine keeps it there.
    func spendRows(org: String, day: String?) async throws(PipelineError) -> [SpendRecord] {
        guard let shared = options.spend else {
            return try await models.read(SpendProjector.name) { db in try SpendQueries.spend(db, org: org, day: day) }
        }
        do {
            return try await shared.spend(org: org, day: day)
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the spend read model of \(org)", cause: error)
        }
    }

    /// What the agent used today, charged plus reserved: for `purser spend` and the dashboard.
    public func spendToday(org: String, agentId: String) async throws(PipelineError) -> (usd: Double, messages: Int) {
        let day = clock().utcDay
        try await ensureLedgerLoaded(org: org, agentId: agentId, day: day)
        let entry = ledger.withLock { $0.days[SpendLedger.key(org: org, agentId: agentId, day: day)] ?? SpendLedger.Day() }
        return (entry.chargedUsd + entry.reservedUsd, entry.chargedMessages + entry.reservedMessages)
    }
}
