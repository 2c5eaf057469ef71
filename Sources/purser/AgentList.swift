import AgentsProjection
import ArgumentParser
import Foundation
import PostgresReadModels
import PurserCore
import PurserDomain

struct AgentList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List agents, one JSON line each: org, agentId, name, status, revision, autonomy level, channels.",
        discussion: "With --database (or PURSER_DATABASE_URL) the agents are read from the model kept in PostgreSQL, which every node's changes reach."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Only this organization's agents.") var org: String?

    func validate() throws {
        _ = try database.given()
    }

    func run() async throws {
        let (global, org) = (self.global, self.org)
        let records: [AgentRecord]
        if let url = try database.given() {
            records = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.projections") { store in
                guard let model = DatabaseModels.models(store, names: [AgentsProjector.name]).first else {
                    preconditionFailure("the agents read model is kept in PostgreSQL (PostgresReadModelCatalog)")
                }
                try await model.prepare()
                return try await PostgresAgentsQueries(model: model).agents(org: org)
            }
        } else {
            records = try await BlockingIO.run { () throws(any Error) -> [AgentRecord] in
                let store = try ReadModels.current(AgentsProjector.name, global)
                return try store.read { try AgentsQueries.agents($0, org: org) }
            }
        }
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
