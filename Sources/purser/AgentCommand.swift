import ArgumentParser

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Agent configuration: apply, show, list, pause, resume.",
        subcommands: [AgentApply.self, AgentShow.self, AgentList.self, AgentPause.self, AgentResume.self]
    )
}
