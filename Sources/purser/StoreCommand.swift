import ArgumentParser

struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Move the log between the embedded store and PostgreSQL (docs/POSTGRES.md).",
        subcommands: [StoreMigrate.self, StoreExport.self]
    )
}
