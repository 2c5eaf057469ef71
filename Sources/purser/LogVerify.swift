import Foundation
import ArgumentParser
import EventLog

struct LogVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum, the hash chain and seq continuity; exit 1 naming each fault.",
        discussion: """
            A log whose newest batch was cut short by a crash (a torn tail: never synced, so never \
            acknowledged) verifies with exit 0 and says so; the next writer to open the log cuts it. \
            Damage anywhere else, or a whole batch failing its checksums, is a fault.
            """
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
                         "firstSeq": f.firstSeq, "lastSeq": f.lastSeq])
            Output.note("FAULT \(f)")
        }
        if let t = r.tornTail {
            Output.json(["tornTail": t.reason, "segment": t.segment, "offset": t.offset, "bytes": t.bytes,
                         "firstSeq": t.firstSeq, "lastSeq": t.lastSeq])
            Output.note(t.description)
        }
        for n in r.notes { Output.note("note: \(n)") }
        Output.json(["ok": r.ok, "segments": r.segments, "batches": r.batches, "events": r.events,
                     "lastSeq": r.lastSeq, "headHash": r.headHash, "faults": r.faults.count,
                     "tornTailBytes": r.tornTail?.bytes ?? 0])
        if r.ok {
            Output.note("log ok: \(r.events) events in \(r.segments) segment(s), head \(r.headHash.prefix(16))…")
        } else {
            Output.note("log damaged: \(r.faults.count) fault(s), each named above with its segment and offset")
            throw Exit.failure
        }
    }
}
