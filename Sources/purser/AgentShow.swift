import AgentsProjection
import ArgumentParser
import Foundation
import PurserDomain

struct AgentShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the configuration in force of an org's agents, one JSON line each.",
        discussion: "Each line: org, agentId, revision, status, configuredAt, configuredSeq and the full config. With --history, every config version the agent had, oldest first."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Option(help: "Only this agent (default: every agent of the org).") var agent: String?
    @Flag(help: "Every applied config version of the agent, not just the one in force.") var history = false

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
        if history && agent == nil { throw ValidationError("--history needs --agent") }
    }

    func run() throws {
        let store = try ReadModels.current(AgentsProjector.name, global)
        if history, let agent {
            let versions = try store.read { try AgentsQueries.history($0, org: org, agentId: agent) }
            if versions.isEmpty {
                Output.note("org \(org) has no agent \(agent)")
                throw Exit.failure
            }
            for v in versions {
                Output.line(JSONValue.from([
                    "org": .string(org), "agentId": .string(agent), "revision": .number(Double(v.revision)),
                    "seq": .number(Double(v.seq)), "actor": .string(v.actor), "configuredAt": .string(v.configuredAt),
                    "config": try JSONValue(encoding: v.config),
                ]).serialized())
            }
            return
        }
        let records = try store.read { db in
            if let agent { return try AgentsQueries.agent(db, org: org, agentId: agent).map { [$0] } ?? [] }
            return try AgentsQueries.agents(db, org: org)
        }
        if records.isEmpty {
            Output.note(agent.map { "org \(org) has no agent \($0)" } ?? "org \(org) has no agents")
            throw Exit.failure
        }
        for r in records {
            Output.line(JSONValue.from([
                "org": .string(r.org), "agentId": .string(r.agentId), "revision": .number(Double(r.revision)),
                "status": .string(r.status.rawValue), "configuredAt": .string(r.configuredAt),
                "configuredSeq": .number(Double(r.configuredSeq)), "config": try JSONValue(encoding: r.config),
            ]).serialized())
        }
    }
}
