import Dispatch
import EventLog
import Logging
import PurserCore

/// The embedded log (one data directory's `eventlog/`) behind the seam.
///
/// Opened for writing it holds the directory's writer lock, as `EventLog` does; opened for
/// reading (`init(reader:)`) it takes no lock and refuses appends, which is what the read-only
/// commands use beside a running writer. The log's reads are blocking file reads, so each runs
/// on `BlockingIO`'s queue, one batch at a time, never on the cooperative pool.
public final class EmbeddedEventStore: EventStore {
    public let reader: LogReader
    public let log: EventLog?

    /// Reads the log in `directory` without taking its writer lock; appends throw.
    public init(reader: LogReader) {
        self.reader = reader
        self.log = nil
    }

    /// The seam over a log already open for writing; closing the store closes the log.
    public init(writer log: EventLog) {
        self.reader = LogReader(directory: log.directory)
        self.log = log
    }

    /// Opens (or creates) the log in `directory` for writing, recovering it if needed.
    public static func open(directory: String, options: EventLogOptions = EventLogOptions(), logger: Logger) async throws -> EmbeddedEventStore {
        let log = try await BlockingIO.run { try EventLog.open(directory: directory, options: options, logger: logger) }
        return EmbeddedEventStore(writer: log)
    }

    public var description: String { reader.directory }

    public func append(_ drafts: [EventDraft], expecting: [ExpectedVersion]) async throws -> AppendResult {
        guard let log else { throw LogError(.closed, "the event log at \(reader.directory) is open for reading only") }
        return try await log.append(drafts, expecting: expecting)
    }

    public func streamVersion(org: String, stream: String) async throws -> UInt32 {
        if let log { return log.streamVersion(org: org, stream: stream) }
        var version: UInt32 = 0
        try await scan(EventQuery(org: org, stream: stream)) { batch in
            version = batch.last?.streamVersion ?? version
            return true
        }
        return version
    }

    /// Read through the org index, so it costs in proportion to the org's events.
    public func head(org: String) async throws -> UInt64 {
        var last: UInt64 = 0
        try await scan(EventQuery(org: org)) { batch in
            last = batch.last?.seq ?? last
            return true
        }
        return last
    }

    public func orgs() async throws -> [String] {
        try await stats().eventsPerOrg.keys.sorted()
    }

    public func scan(_ query: EventQuery, batchEventsMax: Int, _ body: ([StoredEvent]) async throws -> Bool) async throws {
        precondition(batchEventsMax > 0, "a read batch holds at least one event")
        guard reader.exists else { return }
        var from = query.fromSeq
        while true {
            let filter = LogReader.Filter(org: query.org, typePrefix: query.typePrefix, fromSeq: from, untilSeq: query.untilSeq)
            let reader = self.reader
            let batch: [StoredEvent] = try await BlockingIO.run {
                var out: [StoredEvent] = []
                try reader.scan(filter) { record in
                    guard query.matches(stream: record.stream, type: record.type) else { return true }
                    out.append(try StoredEvent(record))
                    return out.count < batchEventsMax
                }
                return out
            }
            guard let last = batch.last else { return }
            if try await !body(batch) || batch.count < batchEventsMax || last.seq >= query.untilSeq { return }
            from = last.seq + 1
        }
    }

    /// The whole log is verified (its chain is global); with `org`, only the faults that concern
    /// that org, or whose org cannot be told, are kept.
    public func verify(org: String?) async throws -> StoreVerifyReport {
        let reader = self.reader
        let (v, stats) = try await BlockingIO.run { (try reader.verify(), try reader.stats()) }
        var report = StoreVerifyReport()
        report.orgs = org == nil ? stats.orgs.count : (stats.orgs[org!] == nil ? 0 : 1)
        report.events = org.map { stats.orgs[$0] ?? 0 } ?? v.events
        report.segments = v.segments
        report.batches = v.batches
        report.lastSeq = v.lastSeq
        report.headHash = v.headHash
        for f in v.faults where org == nil || f.orgs.isEmpty || f.orgs.contains(org!) {
            let orgs = org.map { [$0] } ?? f.orgs
            report.faults.append(.init(org: orgs.isEmpty ? nil : orgs.joined(separator: ","), seq: f.firstSeq, reason: f.reason,
                                       location: "\(f.segment) @\(f.offset)" + (f.firstSeq.map { " seq \($0)–\(f.lastSeq ?? $0)" } ?? "")))
        }
        if let t = v.tornTail { report.notes.append(t.description) }
        report.notes += v.notes
        return report
    }

    public func stats() async throws -> StoreStats {
        let reader = self.reader
        guard reader.exists else { return StoreStats(events: 0, orgs: 0, bodyBytes: 0, eventsPerOrg: [:]) }
        let s = try await BlockingIO.run { try reader.stats() }
        return StoreStats(events: s.events, orgs: s.orgs.count, bodyBytes: s.rawBytes, eventsPerOrg: s.orgs)
    }

    /// Flushes and releases the writer lock (a reading store has nothing to release).
    public func close() async {
        guard let log else { return }
        await BlockingIO.run { log.close() }
    }
}

extension StoredEvent {
    /// Copies a record out of the log's reader (whose bytes live only during its callback).
    init(_ record: EventRecord) throws {
        let json = record.json
        // The envelope's id and ts, read from the fixed places the log writes them.
        var id = "", ts: Int64 = 0
        if let members = try? JSONBytes.members(of: json) {
            for m in members {
                if m.key == "id" { id = JSONBytes.decodeString(json, m.value) ?? "" }
                if m.key == "ts", let text = JSONBytes.decodeString(json, m.value) { ts = Timestamp.parseMilliseconds(text, rules: .envelope) ?? 0 }
            }
        }
        self.init(org: record.org, seq: record.seq, id: id, stream: record.stream, streamVersion: record.streamVersion, type: record.type,
                  timestampMs: ts, line: record.jsonBytes)
    }
}
