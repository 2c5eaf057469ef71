import ArgumentParser
import EventLog
import EventStore
import Foundation
import PostgresStore

struct StoreMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy the embedded data directory's log (--data) into PostgreSQL, byte for byte, org by org.",
        discussion: """
            Progress goes to stderr; stdout gets one JSON line: orgs, events copied, events already there. \
            Safe to run again: what an earlier run copied is found and skipped. A database that holds \
            other events (of any org) is refused before anything is written. The schema is migrated first.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("to"), help: ArgumentHelp("The PostgreSQL store to copy into, postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=…].", valueName: "URL"))
    var to: String

    func validate() throws {
        _ = try DatabaseOptions.parse(to)
    }

    func run() async throws {
        let url = try DatabaseOptions.parse(to)
        let reader = LogReader(directory: global.eventLogDirectory)
        guard reader.exists else {
            Output.note("no event log at \(global.eventLogDirectory); nothing to migrate")
            throw Exit.failure
        }
        let source = EmbeddedEventStore(reader: reader)
        let summary = try await StoreAccess.withDatabase(url, migrate: true, label: "purser.store") { store in
            do {
                return try await StoreAccess.copy(from: source, to: store, verb: "migrate", orgsAtOnce: EventCopier.postgresOrgsAtOnce)
            } catch {
                Output.note("cannot migrate \(global.dataDirectory) to \(url): \(error)")
                throw Exit.failure
            }
        }
        Output.json(["from": global.dataDirectory, "to": url.description, "orgs": summary.orgs,
                     "copied": summary.copied, "alreadyPresent": summary.present])
        Output.note("migrated \(summary.orgs) org(s): \(summary.copied) event(s) copied, \(summary.present) already there")
    }
}
