import ArgumentParser

struct ProjectionsRebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild read models from the log or PostgreSQL (all, or the ones named), in parallel.",
        discussion: "Each is built into <name>.sqlite.rebuild and swapped in when complete; until then readers see the old model. One JSON line per model: events scanned and applied, checkpoint, seconds. Progress goes to stderr. With --database (or PURSER_DATABASE_URL) the models under --data are built from the PostgreSQL store, and each line also has checkpoints, the last position applied per org."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("Read models to rebuild (default: all).", valueName: "NAME")) var names: [String] = []

    func validate() throws {
        try ProjectionsCommand.validate(names: names)
        _ = try database.given()
    }

    func run() async throws {
        try await ProjectionsCommand.run(global, database, names: names, rebuild: true)
    }
}
