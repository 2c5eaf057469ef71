import EventLog
import EventStore
import Foundation
import Testing

/// One suite, every store: what the engine relies on of the seam holds on the embedded log and on
/// PostgreSQL alike. Serialized: one PostgreSQL database at a time is plenty on a small machine.
@Suite("Event store conformance", .serialized)
struct ConformanceTests {
    @Test(arguments: Backend.enabled)
    func appendedEventsReadBackByteForByteInOrder(_ backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let drafts = (0..<12).map { draft("haff", "ev-\($0)", stream: "session:\($0 % 3)", text: "Grüße \($0) \\\"q\\\" ✓") }
            let result = try await store.append(drafts)
            #expect(result.duplicates == Array(repeating: false, count: 12))
            #expect(result.seqs == result.seqs.sorted() && Set(result.seqs).count == 12)
            let stored = try await store.events(EventQuery(org: "haff"))
            #expect(stored.map(\.id) == drafts.map(\.id))
            #expect(stored.map(\.seq) == result.seqs)
            for (event, d) in zip(stored, drafts) {
                #expect(Array(event.body) == (try d.storedBody()))
                #expect(event.line == storedEnvelopeLine(seq: event.seq, body: event.body))
                #expect(event.timestampMs == d.timestampMs && event.type == d.type && event.stream == d.stream)
            }
            let versions: [UInt32] = (0..<12).map { UInt32($0 / 3 + 1) }
            #expect(stored.map(\.streamVersion) == versions)
            #expect(try await store.head(org: "haff") == result.seqs.last)
            #expect(try await store.streamVersion(org: "haff", stream: "session:1") == 4)
        }
    }

    @Test(arguments: Backend.enabled)
    func anIdAppendedTwiceIsStoredOnce(_ backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let first = try await store.append([draft("haff", "a"), draft("haff", "b")])
            let again = try await store.append([draft("haff", "a"), draft("haff", "c")])
            #expect(again.duplicates == [true, false])
            #expect(again.seqs[0] == first.seqs[0])
            #expect(try await store.events(EventQuery(org: "haff")).map(\.id) == ["a", "b", "c"])
            #expect(try await store.stats().events == 3)
        }
    }

    @Test(arguments: Backend.enabled)
    func aStaleStreamVersionFailsWithTheConflictErrorAndStoresNothing(_ backend: Backend) async throws {
        try await backend.withStore { store, _ in
            _ = try await store.append([draft("haff", "a", stream: "session:1")], expecting: [ExpectedVersion(org: "haff", stream: "session:1", version: 0)])
            await #expect {
                _ = try await store.append([draft("haff", "b", stream: "session:1"), draft("haff", "c", stream: "other")],
                                           expecting: [ExpectedVersion(org: "haff", stream: "session:1", version: 0)])
            } throws: { error in
                (error as? LogError)?.code == .versionConflict
            }
            #expect(try await store.events(EventQuery(org: "haff")).map(\.id) == ["a"])
            #expect(try await store.streamVersion(org: "haff", stream: "session:1") == 1)
            // The current version passes.
            _ = try await store.append([draft("haff", "b", stream: "session:1")], expecting: [ExpectedVersion(org: "haff", stream: "session:1", version: 1)])
            #expect(try await store.streamVersion(org: "haff", stream: "session:1") == 2)
        }
    }

    @Test(arguments: Backend.enabled)
    func oneOrgNeverSeesAnotherOrgsEvents(_ backend: Backend) async throws {
        try await backend.withStore { store, _ in
            for i in 0..<6 {
                _ = try await store.append([draft(i % 2 == 0 ? "kite" : "haff", "ev-\(i)", stream: "s")])
            }
            let kite = try await store.events(EventQuery(org: "kite"))
            #expect(kite.map(\.id) == ["ev-0", "ev-2", "ev-4"])
            #expect(kite.allSatisfy { $0.org == "kite" })
            #expect(try await store.events(EventQuery(org: "haff", stream: "s")).map(\.id) == ["ev-1", "ev-3", "ev-5"])
            #expect(try await store.streamVersion(org: "kite", stream: "s") == 3)
            #expect(try await store.events(EventQuery(org: "nobody")).isEmpty)
            #expect(try await store.head(org: "nobody") == 0)
            #expect(try await store.orgs() == ["haff", "kite"])
            #expect(try await store.stats().eventsPerOrg == ["haff": 3, "kite": 3])
        }
    }

    @Test(arguments: Backend.enabled)
    func typePrefixStreamAndRangeReadsSelectExactlyTheirEvents(_ backend: Backend) async throws {
        try await backend.withStore { store, _ in
            let types = ["message.received", "tool.executed", "tool.denied", "message.sent", "cost.charged", "tool.executed"]
            let result = try await store.append(types.enumerated().map { draft("haff", "e\($0.offset)", stream: $0.offset < 3 ? "a" : "b", type: $0.element) })
            let seqs = result.seqs
            #expect(try await store.events(EventQuery(org: "haff", typePrefix: "tool.")).map(\.id) == ["e1", "e2", "e5"])
            #expect(try await store.events(EventQuery(org: "haff", stream: "b")).map(\.id) == ["e3", "e4", "e5"])
            #expect(try await store.events(EventQuery(org: "haff", stream: "b", typePrefix: "tool.")).map(\.id) == ["e5"])
            #expect(try await store.events(EventQuery(org: "haff", fromSeq: seqs[2], untilSeq: seqs[4])).map(\.id) == ["e2", "e3", "e4"])
            #expect(try await store.events(EventQuery(org: "haff"), limit: 2).map(\.id) == ["e0", "e1"])
            // Small batches hand over everything, in order, each batch at most its size.
            var batches: [[String]] = []
            try await store.scan(EventQuery(org: "haff"), batchEventsMax: 4) { batch in
                batches.append(batch.map(\.id))
                return true
            }
            #expect(batches == [["e0", "e1", "e2", "e3"], ["e4", "e5"]])
        }
    }

    @Test(arguments: Backend.enabled)
    func followSeesWhatWasThereAndWhatIsAppendedLater(_ backend: Backend) async throws {
        try await backend.withStore { store, _ in
            _ = try await store.append([draft("haff", "before"), draft("kite", "other-org")])
            let follower = Task {
                var seen: [String] = []
                for try await event in store.follow(EventQuery(org: "haff"), pollInterval: .milliseconds(10)) {
                    seen.append(event.id)
                    if seen.count == 3 { break }
                }
                return seen
            }
            try await Task.sleep(for: .milliseconds(100))
            _ = try await store.append([draft("kite", "other-later"), draft("haff", "after-1")])
            _ = try await store.append([draft("haff", "after-2")])
            #expect(try await follower.value == ["before", "after-1", "after-2"])
        }
    }

    @Test(arguments: Backend.enabled)
    func verifyFindsAnEventChangedBehindTheStoresBackAndNamesItsOrgAndSeq(_ backend: Backend) async throws {
        try await backend.withStore { store, tamper in
            _ = try await store.append((1...4).map { draft("haff", "h\($0)") })
            let last = try await store.append([draft("kite", "k1")])
            #expect(try await store.verify(org: nil).ok)
            try await tamper("kite", last.seqs[0])
            let report = try await store.verify(org: nil)
            #expect(!report.ok)
            let fault = try #require(report.faults.first)
            #expect(fault.org == "kite")
            #expect(fault.seq == last.seqs[0])
            #expect(fault.description.contains("kite"))
        }
    }
}

/// Copying between stores, in each direction the command line uses.
@Suite("Copying between stores", .serialized)
struct CopyTests {
    @Test(arguments: Backend.enabled, [1, 3])
    func aCopyIsByteForByteIdempotentAndRefusesATargetHoldingOtherEvents(_ target: Backend, orgsAtOnce: Int) async throws {
        try await Backend.embedded.withStore { source, _ in
            for i in 0..<30 {
                _ = try await source.append([draft(["haff", "kite", "zeit"][i % 3], "ev-\(i)", stream: "s\(i % 4)", text: "n\(i)")])
            }
            try await target.withStore { copy, _ in
                // Orgs one at a time, or all three at once: each org's events in its order either way.
                let first = try await EventCopier(from: source, to: copy, batchEventsMax: 4, orgsAtOnce: orgsAtOnce).run()
                #expect(first.orgs == 3 && first.copied == 30 && first.present == 0)
                for org in ["haff", "kite", "zeit"] {
                    let a = try await source.events(EventQuery(org: org)), b = try await copy.events(EventQuery(org: org))
                    #expect(a.map { Array($0.body) } == b.map { Array($0.body) })
                    #expect(a.map(\.streamVersion) == b.map(\.streamVersion))
                }
                // Again: nothing copied twice.
                let again = try await EventCopier(from: source, to: copy).run()
                #expect(again.orgs == 3 && again.copied == 0 && again.present == 30)
                #expect(try await copy.stats().events == 30)
                // More events in the source: only they are copied.
                _ = try await source.append([draft("kite", "late")])
                #expect(try await EventCopier(from: source, to: copy).run().copied == 1)
                // A target holding an event the source does not have is refused, and nothing is written.
                _ = try await copy.append([draft("haff", "stranger")])
                _ = try await source.append([draft("zeit", "later-still")])
                await #expect(throws: LogError.self) { _ = try await EventCopier(from: source, to: copy).run() }
                #expect(try await copy.events(EventQuery(org: "zeit")).map(\.id).contains("later-still") == false)
            }
        }
    }
}
