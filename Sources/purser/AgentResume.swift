import ArgumentParser
import PurserDomain

struct AgentResume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume a paused agent (or all of an org's agents). Appends agent.status_changed."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: AgentStatusChange.Target

    func run() throws {
        try AgentStatusChange.run(global, target, to: .active)
    }
}
