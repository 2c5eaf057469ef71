import ArgumentParser

struct ProjectionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "Read models: versions, checkpoints and lag; rebuild.",
        subcommands: [ProjectionsStatus.self, ProjectionsCatchUp.self, ProjectionsRebuild.self]
    )
}
