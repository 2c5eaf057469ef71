import ArgumentParser

struct ProjectionsRebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild read models from the log (all, or the ones named), in parallel.",
        discussion: "Each is built into <name>.sqlite.rebuild and swapped in when complete; until then readers see the old model. One JSON line per model: events scanned and applied, checkpoint, seconds. Progress goes to stderr."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("Read models to rebuild (default: all).", valueName: "NAME")) var names: [String] = []

    func validate() throws {
        try ProjectionsCommand.validate(names: names)
    }

    func run() throws {
        try ProjectionsCommand.run(global, names: names, rebuild: true)
    }
}
