import AgentsProjection
import AuditProjection
import Foundation
import OutboxProjection
import SessionsProjection
import SpendProjection
import Tools

/// The engine's tunables, with units last. Defaults suit one machine serving many orgs.
public struct PipelineOptions: Sendable {
    /// LLM calls in flight at once, over all sessions (each waits on the network, not the CPU).
    public var llmCallsInFlightMax = 256
    /// Model round trips in one turn before the agent is stopped and the session handed over.
    public var toolIterationsMax = 6
    /// Messages of the transcript sent to the model as context.
    public var transcriptMessagesMax = 20
    /// How long an approval waits for a human before it expires closed (`approval.expired`).
    public var approvalExpirySeconds: Double = 24 * 3600
    /// Knowledge documents put into the prompt, and how much of each.
    public var knowledgeDocsMax = 8
    public var knowledgeDocCharactersMax = 4000
    /// The customer's bookings listed in the prompt.
    public var contactBookingsMax = 10

    /// Sessions kept in memory; past it, half are forgotten and reloaded from the sessions read
    /// model when they are next needed.
    public var sessionsCachedMax = 100_000

    /// Where the engine's counters go (nothing by default; Prometheus in `purser serve`).
    public var metrics = EngineMetrics()

    /// Where `data_query_tool` runs when not on the node's SQLite crm model: the crm model in
    /// PostgreSQL, on that store (set by the runtime).
    public var dataQueries: (any DataQueryRunning)?

    /// Where the spend model is read (the caps' starting figures, `purser spend`, the dashboard)
    /// when not on the node's SQLite model: the model in PostgreSQL (set by the runtime).
    public var spend: (any SpendReading)?

    /// Where the outbox model is read (delivery reports from connectors and channels) when not on
    /// the node's SQLite model: the model in PostgreSQL (set by the runtime).
    public var outbox: (any OutboxReading)?

    /// Where the agents model is read (the agents and routes at start, config histories) when not
    /// on the node's SQLite model: the model in PostgreSQL (set by the runtime).
    public var agents: (any AgentsReading)?

    /// Where the sessions model is read (a turn's session and transcript after a restart or on
    /// another node, webchat visitors, the dashboard) when not on the node's SQLite model: the
    /// model in PostgreSQL (set by the runtime).
    public var sessions: (any SessionsReading)?

    /// Where the audit model is read (approvals and the activity log for the dashboard) when not
    /// on the node's SQLite model: the model in PostgreSQL (set by the runtime).
    public var audit: (any AuditReading)?

    public init() {}
}
