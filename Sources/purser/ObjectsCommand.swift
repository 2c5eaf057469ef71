import ArgumentParser

struct ObjectsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "objects",
        abstract: "Ontology objects and links: import JSON Lines, show.",
        subcommands: [ObjectsImport.self, ObjectsShow.self]
    )
}
