import ArgumentParser
import Credentials
import Foundation

struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials",
        abstract: "An org's provider and channel credentials, sealed at rest with AES-GCM: set, list, delete.",
        discussion: """
        Stored in DATA/credentials/<org>.sealed, or with --database / $PURSER_DATABASE_URL in PostgreSQL (sealed; the key stays here). The master key comes from $PURSER_MASTER_KEY (32 bytes, base64) or the file named by $PURSER_MASTER_KEY_FILE; without either, DATA/credentials/master.key is created on first use (mode 0600). That default is for development only: in production keep the key away from the data directory. Values are never printed.
        """,
        subcommands: [CredentialsSet.self, CredentialsList.self, CredentialsDelete.self]
    )

    /// Runs `body` with the store under the data directory, or in the PostgreSQL store `database`
    /// names (the master key stays on this machine either way); its notes (a created development
    /// key) go to stderr.
    static func withStore<T>(_ global: GlobalOptions, _ database: DatabaseOptions, _ body: (CredentialStore) throws -> T) throws -> T {
        let logger = LogSetup.logger("purser.credentials", level: .warning)
        return try DocumentAccess.with(global, database) { documents in
            let store = try run { try CredentialStore.open(documents: documents, dataDirectory: global.dataDirectory, logger: logger) }
            return try run { try body(store) }
        }
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
