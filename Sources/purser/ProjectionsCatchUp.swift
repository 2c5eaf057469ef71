import ArgumentParser

struct ProjectionsCatchUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catchup",
        abstract: "Bring read models (all, or the ones named) up to the log's head, or every org's head in PostgreSQL, in parallel.",
        discussion: "Continues each model from its checkpoint; rebuilds it when its schema version changed, it was never built, its checkpoint is beyond the log's end, or it was built from another source. One JSON line per model. With --database (or PURSER_DATABASE_URL) the models under --data follow the PostgreSQL store: one checkpoint per org, each line with checkpoints, the last position applied per org."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("Read models to catch up (default: all).", valueName: "NAME")) var names: [String] = []

    func validate() throws {
        try ProjectionsCommand.validate(names: names)
        _ = try database.given()
    }

    func run() async throws {
        try await ProjectionsCommand.run(global, database, names: names, rebuild: false)
    }
}
