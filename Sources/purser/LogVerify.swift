import Foundation
import ArgumentParser
import EventLog

struct LogVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum, the hash chain and seq continuity; exit 1 naming each fault."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let reader = LogReader(directory: global.eventLogDirectory)
        guard reader.exists else {
            Output.note("no event log at \(global.eventLogDirectory)")
            throw Exit.failure
        }
        let r = try reader.verify()
        for f in r.faults {
            Output.json(["fault": f.reason, "segment": f.segment, "offset": f.offset,
                         "firstSeq": f.firstSeq.map { $0 as Any } ?? NSNull(), "lastSeq": f.lastSeq.map { $0 as Any } ?? NSNull()])
            Output.note("FAULT \(f)")
        }
        for n in r.notes { Output.note("note: \(n)") }
        Output.json(["ok": r.ok, "segments": r.segments, "batches": r.batches, "events": r.events,
                     "lastSeq": r.lastSeq, "headHash": r.headHash, "faults": r.faults.count])
        if r.ok {
            Output.note("log ok: \(r.events) events in \(r.segments) segment(s), head \(r.headHash.prefix(16))…")
        } else {
            Output.note("log damaged: \(r.faults.count) fault(s)")
            throw Exit.failure
        }
    }
}
