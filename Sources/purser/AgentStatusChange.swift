import AgentsProjection
import ArgumentParser
import EventLog
import Foundation
import PurserDomain

/// Shared by `agent pause` and `agent resume`: appends `agent.status_changed` for each agent
/// of the org (or the one named) whose status differs from `to`.
enum AgentStatusChange {
    /// The options both commands take: whose agents, and why.
    struct Target: ParsableArguments {
        @Option(help: "The organization.") var org: String
        @Option(help: "Only this agent (default: every agent of the org).") var agent: String?
        @Option(help: "Why, for the activity log.") var reason: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if org.isEmpty { throw ValidationError("--org must not be empty") }
            _ = try database.given()
        }
    }

    static func run(_ global: GlobalOptions, _ target: Target, to: AgentStatus) throws {
        try run(global, target.database, org: target.org, agent: target.agent, to: to, reason: target.reason)
    }

    static func run(_ global: GlobalOptions, _ database: DatabaseOptions, org: String, agent: String?, to: AgentStatus, reason: String?) throws {
        let writer = try CommandStore.open(global, database)
        defer { writer.close() }
        let store = try ReadModels.current(AgentsProjector.name, global, source: writer.source)
        let records = try store.read { db in
            if let agent { return try AgentsQueries.agent(db, org: org, agentId: agent).map { [$0] } ?? [] }
            return try AgentsQueries.agents(db, org: org)
        }
        if records.isEmpty {
            Output.note(agent.map { "org \(org) has no agent \($0)" } ?? "org \(org) has no agents")
            throw Exit.failure
        }
        let changing = records.filter { $0.status != to }
        for r in records where r.status == to {
            Output.line(JSONValue.from(["org": .string(org), "agentId": .string(r.agentId), "status": .string(to.rawValue),
                                        "unchanged": .bool(true)]).serialized())
        }
        guard !changing.isEmpty else { return }
        var drafts: [EventDraft] = []
        for r in changing {
            let encoded = try EventCatalog.standard.encode(AgentStatusChanged(agentId: r.agentId, from: r.status, to: to, reason: reason))
            drafts.append(EventDraft(org: org, stream: EventStream.agent(r.agentId), type: encoded.type, version: encoded.version,
                                     data: Array(encoded.data), actor: Actor(.human, commandLineActor())))
        }
        let result = try writer.append(drafts)
        try store.catchUp()
        for (r, seq) in zip(changing, result.seqs) {
            Output.line(JSONValue.from(["org": .string(org), "agentId": .string(r.agentId), "from": .string(r.status.rawValue),
                                        "to": .string(to.rawValue), "seq": .number(Double(seq))]).serialized())
            Output.note("\(org)/\(r.agentId): \(r.status.rawValue) → \(to.rawValue)")
        }
    }
}
