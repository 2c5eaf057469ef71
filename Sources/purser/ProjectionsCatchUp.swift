import ArgumentParser

struct ProjectionsCatchUp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catchup",
        abstract: "Bring read models (all, or the ones named) up to the log's head, in parallel.",
        discussion: "Continues each model from its checkpoint; rebuilds it when its schema version changed, it was never built, or its checkpoint is beyond the log's end. One JSON line per model."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("Read models to catch up (default: all).", valueName: "NAME")) var names: [String] = []

    func validate() throws {
        try ProjectionsCommand.validate(names: names)
    }

    func run() throws {
        try ProjectionsCommand.run(global, names: names, rebuild: false)
    }
}
