import ArgumentParser
import EventLog
import EventStore
import Foundation
import PostgresStore

struct StoreExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the PostgreSQL log back as an embedded data directory (its eventlog/), readable with the stock lz4 -dc.",
        discussion: """
            The events are copied org by org, each org's in order and byte for byte; the embedded log \
            numbers them again, globally. Segments are plain LZ4 frames (no dictionary), so \
            `lz4 -dc DIR/eventlog/segments/*.lz4` prints the envelopes. Safe to run again into the same \
            directory; a directory whose log holds other events is refused.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("to"), help: ArgumentHelp("The data directory to write (its eventlog/ is created).", valueName: "DIR"))
    var to: String

    func validate() throws {
        _ = try database.resolved()
        if to.isEmpty { throw ValidationError("--to names the data directory to write") }
    }

    func run() async throws {
        let url = try database.resolved()
        let summary = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.store") { store in
            var options = EventLogOptions()
            options.compression = .plain
            let target: EmbeddedEventStore
            do {
                try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
                target = try await EmbeddedEventStore.open(directory: to + "/eventlog", options: options, logger: LogSetup.logger("purser.store"))
            } catch {
                Output.note("cannot open an event log in \(to): \(error)")
                throw Exit.failure
            }
            do {
                let summary = try await StoreAccess.copy(from: store, to: target, verb: "export")
                await target.close()
                return summary
            } catch {
                await target.close()
                Output.note("cannot export \(url) to \(to): \(error)")
                throw Exit.failure
            }
        }
        Output.json(["from": url.description, "to": to, "orgs": summary.orgs, "copied": summary.copied, "alreadyPresent": summary.present])
        Output.note("exported \(summary.orgs) org(s): \(summary.copied) event(s) copied, \(summary.present) already there")
    }
}
