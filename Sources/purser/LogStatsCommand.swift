import ArgumentParser
import EventLog

struct LogStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Events, segments, bytes raw and compressed, ratio, orgs (one JSON object).")

    @OptionGroup var global: GlobalOptions

    func run() throws {
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
