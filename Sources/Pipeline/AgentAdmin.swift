import EventLog
import Foundation
import PurserDomain

/// Changes to an agent made while the engine runs (the dashboard's settings page), and staff's
/// own conversations with their agent. Going through the engine keeps its routing table and
/// configs in memory current without a restart.
///
/// Its own type: administering agents is not running turns. It shares the engine's state (the
/// routing table and configs in memory) so a change is in force for the next message.
public struct AgentAdmin: Sendable {
    let engine: Pipeline

    public init(engine: Pipeline) {
        self.engine = engine
    }

    /// The org's agents as the engine serves them.
    public func agents(org: String) -> [(agentId: String, revision: Int, status: AgentStatus, config: OrgAgentConfig)] {
        engine.state.withLock { state in
            state.agents.filter { $0.key.org == org }.sorted { $0.key.agentId < $1.key.agentId }
                .map { ($0.key.agentId, $0.value.revision, $0.value.status, $0.value.config) }
        }
    }

    /// The routing table in force, for validating a new config against other orgs' addresses.
    public var routingTable: RoutingTable { engine.state.withLock { $0.routes } }

    /// Appends `config` (already validated with `OrgAgentConfig.load`) as the agent's next
    /// revision; refused when another change landed first (the agent's stream moved).
    public func configure(_ config: OrgAgentConfig, by human: String) async throws(PipelineError) -> Int {
        let ref = config.agentRef
        let previous = engine.agent(ref)
        let revision = (previous?.revision ?? 0) + 1
        var events = TurnEvents(org: ref.org, correlationId: nil, clock: engine.clock)
        try events.add(AgentConfigured(agentId: ref.agentId, revision: revision, config: config), stream: EventStream.agent(ref.agentId),
                       actor: Actor(.human, human))
        let version = try await engine.streamVersion(org: ref.org, stream: EventStream.agent(ref.agentId))
        do {
            try await engine.flush(&events, expecting: [ExpectedVersion(org: ref.org, stream: EventStream.agent(ref.agentId), version: version)])
        } catch {
            if (try? await engine.streamVersion(org: ref.org, stream: EventStream.agent(ref.agentId))) != version {
                throw PipelineError(.alreadyDecided, "engine.agent \(ref) was changed by someone else meanwhile; reload it and apply your change again", cause: error)
            }
            throw error
        }
        engine.state.withLock { state in
            state.agents[ref] = AgentState(config: config, status: config.status, revision: revision)
            state.routes = state.routes.filter { $0.value != ref }
            for (address, target) in config.routes { state.routes[address] = target }
        }
        return revision
    }

    /// Staff ask their own agent (the dashboard's "ask your data" chat): an internal session,
    /// same tools and policy, logged like any other, nothing delivered outside.
    public func internalChat(org: String, agentId: String, by human: String, text: String) async -> TurnOutcome {
        let inbound = Inbound(channel: .webchat, orgAddresses: ["dashboard"], from: "staff:" + human, text: text,
                              receivedAt: engine.clock(), contactName: human, source: "dashboard")
        var routed = inbound
        routed.internalAgent = AgentRef(org: org, agentId: agentId)
        return await engine.process(routed)
    }
}

extension Pipeline {
    /// What people do to the engine's turns: approvals, takeover, human replies.
    public var humans: HumanActions { HumanActions(engine: self) }

    /// Changes to the org's agents while the engine runs.
    public var admin: AgentAdmin { AgentAdmin(engine: self) }

    /// Brings a read model up to the log's head, for API reads that must see the engine's writes.
    public func refresh(_ name: String) async throws(PipelineError) {
        try await models.refresh(name, logHead: logHead)
    }

    /// The last seq in the embedded log (0 on a store whose positions are per org).
    public var logHead: UInt64 { embeddedLog.map { $0.nextSequence &- 1 } ?? 0 }

    /// Throws what keeps the store from taking work (unreachable, schema not current): a
    /// server's readiness.
    public func checkStoreReady() async throws {
        try await store.checkReady()
    }

    /// The read models (for the HTTP API's reads).
    public var readModels: ReadModelSync { models }
}
