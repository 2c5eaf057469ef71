import ArgumentParser
import EventLog
import EventStore
import PostgresStore
import Foundation

struct LogCat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat", abstract: "Print raw events as JSON Lines, in seq order.",
        discussion: "With --database (or PURSER_DATABASE_URL), from PostgreSQL: each org's events in its own seq order, the orgs in name order (--from counts within each org).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this org's events.") var org: String?
    @Option(help: ArgumentHelp("Only event types starting with this (e.g. message.).", valueName: "PREFIX")) var type: String?
    @Option(help: ArgumentHelp("Start at this seq.", valueName: "SEQ")) var from: UInt64 = 1
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if from == 0 { throw ValidationError("--from counts from 1") }
        _ = try database.given()
    }

    func run() async throws {
        if let url = try database.given() {
            try await StoreAccess.withDatabase(url, migrate: false, label: "purser.log") { store in
                let out = BufferedOutput()
                var orgs = [String]()
                if let org { orgs = [org] } else { orgs = try await store.orgs() }
                for org in orgs {
                    try await store.scan(EventQuery(org: org, typePrefix: type, fromSeq: from)) { batch in
                        for event in batch { event.line.withUnsafeBytes { out.write($0) } }
                        return true
                    }
                }
                out.flush()
            }
            return
        }
        let reader = LogReader(directory: global.eventLogDirectory)
        guard reader.exists else {
            Output.note("no event log at \(global.eventLogDirectory)")
            return
        }
        let out = BufferedOutput()
        try reader.scan(LogReader.Filter(org: org, typePrefix: type, fromSeq: from)) { record in
            out.write(record.json)
            return true
        }
        out.flush()
    }
}

/// Buffers stdout writes: printing a million events one `write` each would dominate a replay.
final class BufferedOutput {
    private var buffer: [UInt8] = []
    private let limit = 1 << 16

    init() { buffer.reserveCapacity(limit + 4096) }

    func write(_ line: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: line)
        buffer.append(10)
        if buffer.count >= limit { flush() }
    }

    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(10)
        if buffer.count >= limit { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = Foundation.write(1, b.baseAddress! + done, b.count - done)
                if n <= 0 { break }
                done += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
