import ArgumentParser
import Credentials
import Foundation

struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials",
        abstract: "An org's provider and channel credentials, sealed at rest with AES-GCM: set, list, delete.",
        discussion: """
        Stored in DATA/credentials/<org>.sealed. The master key comes from $PURSER_MASTER_KEY (32 bytes, base64) or the file named by $PURSER_MASTER_KEY_FILE; without either, DATA/credentials/master.key is created on first use (mode 0600). That default is for development only: in production keep the key away from the data directory. Values are never printed.
        """,
        subcommands: [CredentialsSet.self, CredentialsList.self, CredentialsDelete.self]
    )

    /// The store under the data directory; its notes (a created development key) go to stderr.
    static func store(_ global: GlobalOptions) throws -> CredentialStore {
        try run { try CredentialStore.open(dataDirectory: global.dataDirectory, logger: LogSetup.logger("purser.credentials", level: .warning)) }
    }

    /// Runs `body`, turning a `CredentialsError` into a message on stderr and the exit status of
    /// docs/CLI.md (2 for invalid input, 1 otherwise). Messages never contain values.
    static func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as CredentialsError {
            Output.note("error: \(error)")
            switch error.code {
            case .invalidOrg, .invalidName, .invalidValue: throw Exit.invalidInput
            default: throw Exit.failure
            }
        }
    }
}
