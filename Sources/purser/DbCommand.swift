import ArgumentParser
import Foundation
import PostgresStore
import PurserDomain

struct DbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "The PostgreSQL store's schema (docs/POSTGRES.md).",
        subcommands: [DbMigrate.self]
    )
}

/// Where the PostgreSQL store is: `--database URL`, else `PURSER_DATABASE_URL`. The URL's
/// password never appears in output or errors.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: ArgumentHelp("The PostgreSQL store, postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=…] (default: $PURSER_DATABASE_URL).", valueName: "URL"))
    var url: String?

    /// The parsed URL; a usage error (exit 2) when none is given or it does not parse.
    func resolved() throws -> PostgresURL {
        guard let url = try given() else {
            throw ValidationError("name the PostgreSQL store with --database URL or PURSER_DATABASE_URL")
        }
        return url
    }

    /// The parsed URL when one is given (commands that read the embedded log otherwise); a usage
    /// error (exit 2) when it does not parse.
    func given() throws -> PostgresURL? {
        guard let text = url ?? ProcessInfo.processInfo.environment["PURSER_DATABASE_URL"], !text.isEmpty else { return nil }
        return try DatabaseOptions.parse(text)
    }

    /// Parses a connection string; a usage error whose message shows no password.
    static func parse(_ text: String) throws -> PostgresURL {
        do {
            return try PostgresURL(text)
        } catch {
            throw ValidationError(error.message)
        }
    }
}

struct DbMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the schema migrations the database has not seen; safe to run again and from several nodes at once.",
        discussion: "Prints one JSON line: the versions applied now (empty when the schema was current) and the schema version."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        _ = try database.resolved()
    }

    func run() async throws {
        let url = try database.resolved()
        let store: PostgresEventStore
        do {
            store = try await PostgresEventStore.open(url: url, migrate: false, retrySecondsMax: 10, logger: LogSetup.logger("purser.db"))
        } catch {
            Output.note("cannot open \(url): \(error)")
            throw Exit.failure
        }
        do {
            let applied = try await store.migrate()
            let version = try await store.schemaVersion()
            await store.close()
            Output.json(["database": url.description, "applied": applied, "schemaVersion": version])
            Output.note(applied.isEmpty ? "schema current at version \(version)" : "applied migration(s) \(applied.map(String.init).joined(separator: ", ")); schema at version \(version)")
        } catch {
            await store.close()
            Output.note("cannot migrate \(url): \(error)")
            throw Exit.failure
        }
    }
}
