import EventLog
import Foundation
import PostgresNIO
import PostgresStore
import PurserCore
import Testing

private func draft(_ org: String, _ id: String, stream: String = "s", type: String = "message.received", text: String = "hi") -> EventDraft {
    EventDraft(org: org, stream: stream, type: type, data: Array(#"{"text":"\#(text)","n":1}"#.utf8),
               actor: Actor(.customer, "+4917"), id: id, timestampMs: 1_764_000_000_000)
}

extension PostgresSuites {
@Suite("PostgreSQL event store", .enabled(if: TestDatabase.enabled))
struct EventStoreTests {
    @Test func migrationsRunOnceEvenWhenSeveralNodesStartAtOnce() async throws {
        try await TestDatabase.with { url in
            let logger = TestDatabase.logger
            let stores = try await withThrowingTaskGroup(of: PostgresEventStore.self) { group in
                for _ in 0..<4 { group.addTask { try await PostgresEventStore.open(url: url, logger: logger) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for store in stores {
                #expect(try await store.isCurrent)
                #expect(try await store.migrate() == [])
                await store.close()
            }
        }
    }

    @Test func envelopesAreByteForByteWhatTheEmbeddedLogStores() async throws {
        let drafts = (0..<20).map { i in
            var d = draft("haff", "ev-\(i)", stream: "session:\(i % 3)", text: "Grüße \(i) \\\"quoted\\\" ✓")
            d.correlationId = "corr-\(i / 5)"
            return d
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("purser-pg-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try EventLog.open(directory: dir)
        _ = try await log.append(drafts)
        log.close()
        var embedded: [[UInt8]] = []
        try LogReader(directory: dir).scan(.init()) { record in embedded.append(record.jsonBytes); return true }

        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let result = try await store.append(drafts)
                #expect(result.seqs == Array(1...20))
                let stored = try await store.read(org: "haff")
                #expect(stored.map(\.line) == embedded)
                #expect(stored.map(\.streamVersion) == drafts.indices.map { UInt32($0 / 3 + 1) })
            }
        }
    }

    @Test func anIdAppendedTwiceIsStoredOnce() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let first = try await store.append([draft("haff", "a"), draft("haff", "b"), draft("haff", "a")])
                #expect(first.seqs == [1, 2, 1])
                #expect(first.duplicates == [false, false, true])
                let again = try await store.append([draft("haff", "b"), draft("haff", "c")])
                #expect(again.seqs == [2, 3])
                #expect(again.duplicates == [true, false])
                // The same id in another org is another event.
                let other = try await store.append([draft("kite", "a")])
                #expect(other.seqs == [1] && other.duplicates == [false])
                #expect(try await store.head(org: "haff") == 3)
                #expect(try await store.stats().events == 4)
            }
        }
    }

    @Test func oneOrgsReadsNeverReturnAnotherOrgsEvents() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                // Same ids, streams and types in two orgs: every read names its org and gets only that org's rows.
                _ = try await store.append((1...3).map { draft("haff", "e\($0)", text: "haff-secret") })
                _ = try await store.append((1...2).map { draft("kite", "e\($0)", text: "kite-own") })
                let kite = try await store.read(org: "kite")
                #expect(kite.map(\.org) == ["kite", "kite"])
                #expect(kite.allSatisfy { !String(decoding: $0.line, as: UTF8.self).contains("haff") })
                #expect(try await store.read(org: "kite", fromSeq: 3).isEmpty)
                #expect(try await store.read(org: "kite", typePrefix: "message.").count == 2)
                #expect(try await store.head(org: "kite") == 2)
                #expect(try await store.streamVersion(org: "kite", stream: "s") == 2)
                #expect(try await store.verify(org: "kite").events == 2)
                #expect(try await store.read(org: "nobody").isEmpty)
            }
        }
    }

    @Test func aStaleExpectedVersionIsTheSameTypedConflictAndStoresNothing() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                _ = try await store.append([draft("haff", "a", stream: "agent:x")], expecting: [ExpectedVersion(org: "haff", stream: "agent:x", version: 0)])
                await #expect(throws: LogError.self) {
                    do {
                        _ = try await store.append([draft("haff", "b", stream: "agent:x"), draft("kite", "k")],
                                                   expecting: [ExpectedVersion(org: "haff", stream: "agent:x", version: 0)])
                    } catch let error as LogError {
                        #expect(error.code == .versionConflict)
                        #expect(error.message.contains("agent:x"))
                        throw error
                    }
                }
                #expect(try await store.head(org: "haff") == 1)
                #expect(try await store.head(org: "kite") == 0)  // all orgs of the append or none
                #expect(try await store.streamVersion(org: "haff", stream: "agent:x") == 1)
            }
        }
    }

    @Test func concurrentProducersGetGapFreeSeqsAndAFollowerNeverSeesAGap() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let orgs = ["o1", "o2", "o3", "o4"]
                let producers = 32, appendsEach = 15
                let done = ManagedFlag()
                // A follower per org: reads what follows its last seq, and checks it is exactly the next one.
                let followers = Task {
                    var last = [String: UInt64]()
                    var problems: [String] = []
                    while !Task.isCancelled && (!done.isSet || last.values.reduce(0, +) < UInt64(producers * appendsEach)) {
                        for org in orgs {
                            for event in try await store.read(org: org, fromSeq: (last[org] ?? 0) + 1, limit: 500) {
                                if event.seq != (last[org] ?? 0) + 1 { problems.append("\(org): after \(last[org] ?? 0) came \(event.seq)") }
                                last[org] = event.seq
                            }
                        }
                    }
                    return problems
                }
                defer { followers.cancel() }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for p in 0..<producers {
                        group.addTask {
                            for a in 0..<appendsEach {
                                _ = try await store.append([draft(orgs[(p + a) % orgs.count], "p\(p)-a\(a)")])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                done.set()
                let problems = try await followers.value
                #expect(problems.isEmpty)
                var total: UInt64 = 0
                for org in orgs {
                    let seqs = try await store.read(org: org).map(\.seq)
                    #expect(seqs == Array(1...UInt64(seqs.count)))
                    total += UInt64(seqs.count)
                }
                #expect(total == UInt64(producers * appendsEach))
                #expect(try await store.verify().ok)
            }
        }
    }

    /// Transaction A takes org haff's next number and has not committed; B appends to haff too.
    /// B must wait for A (never take a number past A's and commit first), and a rolled-back A
    /// gives its number back.
    @Test func anUncommittedAppendHoldsBackTheNextOneSoNoReaderIsPassed() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                _ = try await store.append([draft("haff", "first")])
                let body = String(decoding: try draft("haff", "held").storedBody(), as: UTF8.self)
                try await TestDatabase.withClient(url) { client in
                    try await client.withConnection { a in
                        try await a.query("BEGIN", logger: TestDatabase.logger)
                        let hold: PostgresQuery = """
                            SELECT out_seq FROM purser_append('haff', ARRAY['held'], ARRAY['s'], ARRAY['message.received'],
                                   ARRAY[1764000000000]::bigint[], ARRAY[\(body)]::text[], ARRAY[]::text[], ARRAY[]::integer[])
                            """
                        for try await seq in try await a.query(hold, logger: TestDatabase.logger).decode(Int64.self) { #expect(seq == 2) }
                        let b = Task { try await store.append([draft("haff", "second")]) }
                        // Wait until B is blocked on A's lock (seen from the server, not from a timer).
                        var waiting = 0, polls = 0
                        while waiting == 0 {
                            polls += 1
                            if polls > 500 { Issue.record("the second append never waited for the first one's lock"); break }
                            for try await n in try await client.query(
                                "SELECT count(*)::int8 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()").decode(Int64.self) {
                                waiting = Int(n)
                            }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        // A reader meanwhile sees only what committed: seq 1, nothing past it.
                        #expect(try await store.read(org: "haff").map(\.seq) == [1])
                        try await a.query("ROLLBACK", logger: TestDatabase.logger)
                        let result = try await b.value
                        #expect(result.seqs == [2])  // A's number given back, no gap
                    }
                }
                #expect(try await store.read(org: "haff").map(\.id) == ["first", "second"])
                #expect(try await store.verify().ok)
            }
        }
    }

    @Test func verifyNamesTheOrgAndSeqOfRowsEditedDeletedOrInsertedBehindItsBack() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                for org in ["a", "b", "c", "d"] {
                    _ = try await store.append((1...5).map { draft(org, "\(org)\($0)") })
                }
                #expect(try await store.verify().ok)
                try await TestDatabase.withClient(url) { client in
                    try await client.query("UPDATE purser_events SET body = replace(body, 'hi', 'ho') WHERE org = 'b' AND seq = 3")
                    try await client.query("DELETE FROM purser_events WHERE org = 'c' AND seq = 2")
                    try await client.query("""
                        INSERT INTO purser_events (org, seq, id, stream, stream_version, type, ts_ms, body, hash)
                        SELECT org, 6, 'forged', stream, 6, type, ts_ms, body, hash FROM purser_events WHERE org = 'd' AND seq = 5
                        """)
                }
                let report = try await store.verify()
                #expect(!report.ok)
                let faults = Dictionary(grouping: report.faults, by: \.org)
                #expect(faults["a"] == nil)
                #expect(faults["b"]?.first?.seq == 3)
                #expect(faults["c"]?.first?.seq == 2)
                #expect(faults["d"]?.first?.seq == 6)
                #expect(try await store.verify(org: "a").ok)
            }
        }
    }
}
}

/// A flag set once, read from another task.
final class ManagedFlag: Sendable {
    private let value = Locked(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
