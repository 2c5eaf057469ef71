import ArgumentParser
import PurserDomain

struct AgentPause: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause an org's agent (or all its agents): no LLM calls until resumed. Appends agent.status_changed."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: AgentStatusChange.Target

    func run() throws {
        try AgentStatusChange.run(global, target, to: .paused)
    }
}
