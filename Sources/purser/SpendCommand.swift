import AgentsProjection
import ArgumentParser
import Foundation
import PurserCore
import PurserDomain
import SpendProjection

struct SpendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spend",
        abstract: "Per-agent daily spend against the caps (one JSON line per agent and day).",
        discussion: "With --database (or PURSER_DATABASE_URL) the read models under --data follow the PostgreSQL store (see `purser projections`)."
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
        try await ReadModels.withSource(global, database) { source in
            let spend = try ReadModels.current(SpendProjector.name, global, source: source)
            let agents = try ReadModels.current(AgentsProjector.name, global, source: source)
            let configs = Dictionary(try agents.read { try AgentsQueries.agents($0, org: org) }.map { ($0.agentId, $0.config) },
                                     uniquingKeysWith: { a, _ in a })
            for row in try spend.read({ try SpendQueries.spend($0, org: org, day: day) }) {
                let caps = configs[row.agentId]?.customProperties
                Output.line(JSONValue.from([
                    "day": .string(row.day), "agentId": .string(row.agentId), "messages": .number(Double(row.messages)),
                    "maxMessagesPerDay": caps.map { .number(Double($0.maxMessagesPerDay)) }, "tokens": .number(Double(row.tokens)),
                    "usd": .number(row.usd), "maxCostPerDay": caps.map { .number($0.maxCostPerDay) },
                ]).serialized())
            }
        }
    }
}
