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

    func run() throws {
        let store = try CredentialsCommand.store(global)
        for name in try CredentialsCommand.run({ try store.names(org: org) }) {
            Output.json(["org": org, "name": name])
        }
    }
}
