import AgentsProjection
import ArgumentParser
import Foundation
import PurserDomain

struct AgentList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List agents, one JSON line each: org, agentId, name, status, revision, autonomy level, channels."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this organization's agents.") var org: String?

    func run() throws {
        let store = try ReadModels.current(AgentsProjector.name, global)
        let records = try store.read { try AgentsQueries.agents($0, org: org) }
        for r in records {
            let channels: [JSONValue] = r.config.customProperties.channelBindings.map { b in
                .object(["channel": .string(b.channel.rawValue), "enabled": .bool(b.enabled), "address": b.address.map(JSONValue.string) ?? .null])
            }
            Output.line(JSONValue.from([
                "org": .string(r.org), "agentId": .string(r.agentId), "name": .string(r.name), "status": .string(r.status.rawValue),
                "revision": .number(Double(r.revision)), "autonomyLevel": .string(r.config.customProperties.autonomyLevel.rawValue),
                "channels": .array(channels), "updatedAt": .string(r.updatedAt),
            ]).serialized())
        }
        Output.note("\(records.count) agent(s)")
    }
}
