import EventLog
import EventStore
import Foundation
import PostgresNIO
import PostgresStore
import PurserCore
import Testing

private func event(_ org: String, _ id: String, stream: String = "s") -> EventDraft {
    EventDraft(org: org, stream: stream, type: "message.received", data: Array(#"{"text":"hi","n":1}"#.utf8),
               actor: Actor(.customer, "+4917"), id: id, timestampMs: 1_764_000_000_000)
}

extension PostgresSuites {
/// The group commit: concurrent appends share one statement and one commit, and each caller still
/// gets exactly the answer it would have had alone.
@Suite("PostgreSQL group commit", .enabled(if: TestDatabase.enabled))
struct GroupCommitTests {
    /// Many callers racing for the same expected version, batched together: exactly one wins,
    /// every other is refused with the conflict and stored nothing, and the stream holds one event.
    @Test func aStaleExpectationRefusesOnlyItsOwnCallerInABatch() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let callers = 48
                let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for i in 0..<callers {
                        group.addTask {
                            do {
                                // Each caller also writes an event of its own elsewhere in the org,
                                // and one in another org: refused, neither may be stored.
                                _ = try await store.append([event("haff", "claim-\(i)", stream: "approval:a1"),
                                                            event("haff", "side-\(i)", stream: "side:\(i)"),
                                                            event("kite", "other-\(i)", stream: "k")],
                                                           expecting: [ExpectedVersion(org: "haff", stream: "approval:a1", version: 0)])
                                return true
                            } catch let error as LogError where error.code == .versionConflict {
                                return false
                            }
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 }.count == 1)
                let haff = try await store.read(org: "haff"), kite = try await store.read(org: "kite")
                #expect(haff.filter { $0.stream == "approval:a1" }.count == 1)
                #expect(haff.count == 2 && kite.count == 1, "the winner's three events and nothing of the refused callers")
                #expect(haff.map(\.seq) == [1, 2] && kite.map(\.seq) == [1])
                #expect(try await store.verify(org: "haff").faults.isEmpty)
            }
        }
    }

    /// 64 producers over a few orgs, each event appended alone, some ids twice by two producers:
    /// every org's seqs are 1…n without a gap, every id is stored once, a repeated id answers the
    /// first one's seq, stream versions count up, and the chain verifies.
    @Test func concurrentProducersGetGaplessSeqsAndOneCopyOfEachId() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let producers = 64, perProducer = 20
                let answers = try await withThrowingTaskGroup(of: [(String, String, UInt64, Bool)].self) { group in
                    for p in 0..<producers {
                        group.addTask {
                            var mine: [(String, String, UInt64, Bool)] = []
                            for i in 0..<perProducer {
                                let org = "org-\((p + i) % 5)"
                                // Producers p and p+1 share their even ids: one copy each.
                                let id = i % 2 == 0 ? "shared-\(p / 2)-\(i)" : "own-\(p)-\(i)"
                                let result = try await store.append([event(org, id, stream: "session:\(p % 7)")])
                                mine.append((org, id, result.seqs[0], result.duplicates[0]))
                            }
                            return mine
                        }
                    }
                    return try await group.reduce(into: [(String, String, UInt64, Bool)]()) { $0 += $1 }
                }
                var firstSeq: [String: UInt64] = [:]
                for (org, id, seq, _) in answers {
                    let key = org + "/" + id
                    if let known = firstSeq[key] { #expect(known == seq, "\(key) answered two seqs") } else { firstSeq[key] = seq }
                }
                let orgs = Set(answers.map(\.0))
                var stored = 0
                for org in orgs {
                    let events = try await store.read(org: org)
                    stored += events.count
                    #expect(events.map(\.seq) == Array(1...UInt64(events.count)), "\(org)'s seqs have a gap")
                    #expect(Set(events.map(\.id)).count == events.count)
                    var versions: [String: UInt32] = [:]
                    for e in events {
                        versions[e.stream, default: 0] += 1
                        #expect(e.streamVersion == versions[e.stream])
                    }
                    #expect(try await store.verify(org: org).faults.isEmpty)
                }
                #expect(stored == firstSeq.count)
                #expect(answers.filter(\.3).count == producers * perProducer - firstSeq.count)
            }
        }
    }

    /// A batch the server refuses for one caller's sake (a NUL byte, which PostgreSQL text cannot
    /// hold) is sent again caller by caller: the others are stored, only that caller fails.
    @Test func anAppendTheServerRefusesFailsOnlyItsCaller() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let results = await withTaskGroup(of: (Int, Bool).self) { group in
                    for i in 0..<24 {
                        group.addTask {
                            let org = i == 7 ? "bad\u{0}org" : "haff"
                            do {
                                _ = try await store.append([event(org, "e-\(i)", stream: "s:\(i)")])
                                return (i, true)
                            } catch {
                                return (i, false)
                            }
                        }
                    }
                    return await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
                }
                #expect(results.filter { !$0.1 }.map(\.0) == [7])
                let stored = try await store.read(org: "haff")
                #expect(stored.count == 23)
            }
        }
    }
}
}

extension PostgresSuites {
/// The readiness a server's `/readyz` reports: the store answers and its schema is current.
@Suite("PostgreSQL readiness", .enabled(if: TestDatabase.enabled))
struct ReadinessTests {
    @Test func aCurrentSchemaIsReadyAnOlderOneIsNot() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                try await store.checkReady()
                // A database a migration behind (as if an older build had made it).
                try await TestDatabase.withClient(url) { client in
                    try await client.query("DELETE FROM purser_migrations WHERE version = (SELECT max(version) FROM purser_migrations)")
                }
                let error = await #expect(throws: PostgresStoreError.self) { try await store.checkReady() }
                #expect(error?.code == .schemaTooOld)
                #expect(error?.message.contains("purser db migrate") == true)
            }
        }
    }
}
}
