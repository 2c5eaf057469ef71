import ArgumentParser
import Credentials

struct CredentialsList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "The names of an org's credentials, one {\"org\",\"name\"} line each — never the values.",
        discussion: "Every value is opened while listing, so a wrong master key or a tampered file fails here (exit 1)."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        for name in try CredentialsCommand.withStore(global, database, { try $0.names(org: org) }) {
            Output.json(["org": org, "name": name])
        }
    }
}
