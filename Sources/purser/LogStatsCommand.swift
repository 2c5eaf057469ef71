import ArgumentParser
import EventLog
import PostgresStore

struct LogStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Events, segments, bytes raw and compressed, ratio, orgs (one JSON object).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        _ = try database.given()
    }

    func run() async throws {
        if let url = try database.given() {
            let s = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.log") { try await $0.stats() }
            Output.json(["store": url.description, "events": s.events, "orgs": s.orgs, "bodyBytes": s.bodyBytes, "eventsPerOrg": s.eventsPerOrg])
            return
        }
        let reader = LogReader(directory: global.eventLogDirectory)
        guard reader.exists else {
            Output.note("no event log at \(global.eventLogDirectory)")
            throw Exit.failure
        }
        let s = try reader.stats()
        Output.json([
            "events": s.events, "segments": s.segments, "batches": s.batches,
            "firstSeq": s.firstSeq, "lastSeq": s.lastSeq,
            "rawBytes": s.rawBytes, "compressedBytes": s.compressedBytes, "fileBytes": s.fileBytes,
            "ratio": (s.ratio * 100).rounded() / 100, "orgs": s.orgs.count, "types": s.types.sorted(),
            "dictionary": s.dictionary,
            "eventsPerOrg": s.orgs,
        ])
    }
}
