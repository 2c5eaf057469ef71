import ArgumentParser
import PurserDomain

struct AgentResume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume a paused agent (or all of an org's agents). Appends agent.status_changed."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Option(help: "Only this agent (default: every agent of the org).") var agent: String?
    @Option(help: "Why, for the activity log.") var reason: String?

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
    }

    func run() throws {
        try AgentStatusChange.run(global, org: org, agent: agent, to: .active, reason: reason)
    }
}
