import AgentsProjection
import ArgumentParser
import Foundation
import PurserDomain
import Tools

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Explain the tool policy of an org's agent.",
        subcommands: [PolicyExplain.self]
    )
}

struct PolicyExplain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Which rule allows, denies or holds a tool call for the agent's config in force (one JSON line)."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Option(help: "The agent (default: primary).") var agent: String = "primary"
    @Argument(help: "The tool name: one of \(ToolCatalog.standard.acceptedNames.joined(separator: ", ")).") var tool: String
    @Argument(help: "The call's arguments as JSON (default {}).") var arguments: String = "{}"

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
    }

    func run() throws {
        let args: JSONValue
        do {
            args = try JSONValue(parsing: arguments)
        } catch {
            Output.note("the arguments are not valid JSON: \(error)")
            throw Exit.invalidInput
        }
        let agents = try ReadModels.current(AgentsProjector.name, global)
        guard let record = try agents.read({ try AgentsQueries.agent($0, org: org, agentId: agent) }) else {
            Output.note("org \(org) has no agent \(agent); apply one with `purser agent apply`")
            throw Exit.failure
        }
        let catalog = ToolCatalog.standard
        let decision = ToolPolicy.decide(config: record.config, tool: tool, arguments: args, catalog: catalog)
        var fields: [String: JSONValue?] = [
            "org": .string(org), "agentId": .string(agent), "tool": .string(tool), "revision": .number(Double(record.revision)),
            "category": catalog.category(of: tool, arguments: args).map { .string($0.rawValue) },
        ]
        switch decision {
        case .allow(let rule):
            fields["decision"] = .string("allow"); fields["rule"] = .string(rule.rawValue)
        case .deny(let reason, let rule):
            fields["decision"] = .string("deny"); fields["rule"] = .string(rule.rawValue); fields["reason"] = .string(reason)
        case .needsApproval(let reason, let rule):
            fields["decision"] = .string("needs_approval"); fields["rule"] = .string(rule.rawValue); fields["reason"] = .string(reason)
        }
        Output.line(JSONValue.from(fields).serialized())
    }
}
