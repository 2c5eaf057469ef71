import ArgumentParser
import Credentials

struct CredentialsDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Remove one credential of an org. Prints {\"org\",\"name\",\"deleted\":true}; exit 1 when it did not exist."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Argument(help: "The credential name.") var name: String
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let existed = try CredentialsCommand.withStore(global, database) { try $0.delete(org: org, name: name) }
        Output.json(["org": org, "name": name, "deleted": existed])
        if !existed {
            Output.note("org \(org) has no credential named \(name)")
            throw Exit.failure
        }
    }
}
