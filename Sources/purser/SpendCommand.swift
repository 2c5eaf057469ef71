import AgentsProjection
import ArgumentParser
import Foundation
import PurserCore
import PurserDomain
import SpendProjection

struct SpendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spend",
        abstract: "Per-agent daily spend against the caps (one JSON line per agent and day)."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Option(help: "A UTC day, YYYY-MM-DD (default: every day recorded).") var day: String?

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
        if let day, Timestamp(iso8601: day + "T00:00:00Z") == nil { throw ValidationError("--day must be YYYY-MM-DD, got \(day)") }
    }

    func run() throws {
        let spend = try ReadModels.current(SpendProjector.name, global)
        let agents = try ReadModels.current(AgentsProjector.name, global)
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
