import AgentsProjection
import ArgumentParser
import Foundation
import PurserCore
import PostgresReadModels
import Projection
import PurserDomain
import SpendProjection

struct SpendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spend",
        abstract: "Per-agent daily spend against the caps (one JSON line per agent and day).",
        discussion: "With --database (or PURSER_DATABASE_URL) the spend is read from the model kept in PostgreSQL, which every node's charges reach; the caps from the agents read model under --data, which follows the store (see `purser projections`)."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The organization.") var org: String
    @Option(help: "A UTC day, YYYY-MM-DD (default: every day recorded).") var day: String?

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
        if let day, Timestamp(iso8601: day + "T00:00:00Z") == nil { throw ValidationError("--day must be YYYY-MM-DD, got \(day)") }
        _ = try database.given()
    }

    func run() async throws {
        let (global, org, day) = (self.global, self.org, self.day)
        let rows: [SpendRecord], configs: [String: OrgAgentConfig]
        if let url = try database.given() {
            // The spend model kept in PostgreSQL, which every node's charges reach (built here if
            // it never was); the agents' caps from the node's model, which follows the store.
            (rows, configs) = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.projections") { store in
                guard let model = DatabaseModels.models(store, names: [SpendProjector.name]).first else {
                    preconditionFailure("the spend read model is kept in PostgreSQL (PostgresReadModelCatalog)")
                }
                try await model.prepare()
                let rows = try await PostgresSpendQueries(model: model).spend(org: org, day: day)
                let configs = try await BlockingIO.run { () throws(any Error) in try Self.configs(global, org: org, source: .store(store)) }
                return (rows, configs)
            }
        } else {
            (rows, configs) = try await ReadModels.withSource(global, database) { source in
                let spend = try ReadModels.current(SpendProjector.name, global, source: source)
                return (try spend.read { try SpendQueries.spend($0, org: org, day: day) }, try Self.configs(global, org: org, source: source))
            }
        }
        for row in rows {
            let caps = configs[row.agentId]?.customProperties
            Output.line(JSONValue.from([
                "day": .string(row.day), "agentId": .string(row.agentId), "messages": .number(Double(row.messages)),
                "maxMessagesPerDay": caps.map { .number(Double($0.maxMessagesPerDay)) }, "tokens": .number(Double(row.tokens)),
                "usd": .number(row.usd), "maxCostPerDay": caps.map { .number($0.maxCostPerDay) },
            ]).serialized())
        }
    }

    /// Each agent's configuration, by agent id.
    static func configs(_ global: GlobalOptions, org: String, source: ProjectionSource) throws -> [String: OrgAgentConfig] {
        let agents = try ReadModels.current(AgentsProjector.name, global, source: source)
        return Dictionary(try agents.read { try AgentsQueries.agents($0, org: org) }.map { ($0.agentId, $0.config) }, uniquingKeysWith: { a, _ in a })
    }
}
