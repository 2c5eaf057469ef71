import Foundation
import ArgumentParser
import EventLog
import EventStore
import PostgresStore

struct LogVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every checksum, the hash chain and seq continuity; exit 1 naming each fault.",
        discussion: """
            A log whose newest batch was cut short by a crash (a torn tail: never synced, so never \
            acknowledged) verifies with exit 0 and says so; the next writer to open the log cuts it. \
            Damage anywhere else, or a whole batch failing its checksums, is a fault. With --database \
            (or PURSER_DATABASE_URL), the PostgreSQL store is verified instead: every org's hash chain \
            recomputed from its rows, each fault naming the org and seq.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        _ = try database.given()
    }

    func run() async throws {
        if let url = try database.given() {
            let r = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.log") { try await $0.verify(org: nil) }
            LogVerify.print(r, store: url.description)
            if !r.ok { throw Exit.failure }
            return
        }
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

    /// A store's verify report behind the seam: a JSON line per fault and one summary line.
    static func print(_ r: StoreVerifyReport, store: String) {
        for f in r.faults {
            Output.json(["fault": f.reason, "org": f.org, "seq": f.seq])
            Output.note("FAULT \(f)")
        }
        for n in r.notes { Output.note("note: \(n)") }
        Output.json(["ok": r.ok, "store": store, "orgs": r.orgs, "events": r.events, "faults": r.faults.count])
        if r.ok {
            Output.note("log ok: \(r.events) events of \(r.orgs) org(s) in \(store)")
        } else {
            Output.note("log damaged: \(r.faults.count) fault(s), each named above with its org and seq")
        }
    }
}
