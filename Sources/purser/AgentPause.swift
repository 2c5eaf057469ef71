import ArgumentParser
import PurserDomain

struct AgentPause: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause an org's agent (or all its agents): no LLM calls until resumed. Appends agent.status_changed."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Option(help: "Only this agent (default: every agent of the org).") var agent: String?
    @Option(help: "Why, for the activity log.") var reason: String?

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
    }

    func run() throws {
        try AgentStatusChange.run(global, org: org, agent: agent, to: .paused, reason: reason)
    }
}
