import Foundation
import Testing
@testable import EventLog
import PurserCore

@Suite struct AppendReadTests {
    @Test func roundTripKeepsEveryFieldAndAssignsGapFreeSeqs() throws {
        let dir = TempDir()
        let log = try openLog(directory: dir.path)
        var drafts: [EventDraft] = []
        for i in 0..<50 {
            var d = draft(org: i % 3 == 0 ? "haff" : "segelclub", stream: "session:\(i % 5)", text: "Nachricht \(i) – \"Zitat\"\n zweite Zeile")
            d.correlationId = "corr-\(i)"
            d.causationId = i > 0 ? "cause-\(i)" : nil
            d.version = 1 + i % 2
            drafts.append(d)
        }
        var seqs: [UInt64] = []
        for chunk in stride(from: 0, to: drafts.count, by: 7) {
            seqs += try log.appendSync(Array(drafts[chunk..<min(drafts.count, chunk + 7)])).seqs
        }
        log.close()
        #expect(seqs.sorted() == Array(1...50))

        let events = try LogReader(directory: dir.path).events()
        #expect(events.map(\.seq) == Array(1...50))
        for (seq, json) in events {
            let obj = parseObject(json)
            let i = seqs.firstIndex(of: seq)!
            let d = drafts[i]
            #expect(obj["seq"] as? Int == Int(seq))
            #expect(obj["id"] as? String == d.id)
            #expect(obj["org"] as? String == d.org)
            #expect(obj["stream"] as? String == d.stream)
            #expect(obj["type"] as? String == d.type)
            #expect(obj["v"] as? Int == d.version)
            #expect(obj["correlationId"] as? String == d.correlationId)
            #expect(obj["causationId"] as? String == d.causationId)
            #expect((obj["actor"] as? [String: Any])?["kind"] as? String == "customer")
            #expect((obj["data"] as? [String: Any])?["text"] as? String == "Nachricht \(i) – \"Zitat\"\n zweite Zeile")
            #expect(Timestamp.parseMilliseconds(obj["ts"] as! String) == d.timestampMs)
        }
    }

    @Test func concurrentAppendersAllLandOnceInOrderPerProducer() async throws {
        let dir = TempDir()
        let log = try openLog(directory: dir.path)
        let producers = 16, perProducer = 60
        let results = try await withThrowingTaskGroup(of: (Int, [UInt64]).self) { group in
            for p in 0..<producers {
                group.addTask {
                    var seqs: [UInt64] = []
                    for i in 0..<perProducer {
                        let r = try await log.append([draft(org: "org\(p % 4)", stream: "producer:\(p)", text: "\(p)-\(i)")])
                        seqs.append(r.seqs[0])
                    }
                    return (p, seqs)
                }
            }
            var all: [Int: [UInt64]] = [:]
            for try await (p, s) in group { all[p] = s }
            return all
        }
        log.close()
        let all = results.values.flatMap { $0 }.sorted()
        #expect(all == Array(1...UInt64(producers * perProducer)))
        for (_, seqs) in results { #expect(seqs == seqs.sorted()) }
        // Stream versions count up by one per producer's stream.
        var versions: [String: [UInt32]] = [:]
        try LogReader(directory: dir.path).scan(.init()) { r in
            versions[r.stream, default: []].append(r.streamVersion)
            return true
        }
        for (_, v) in versions { #expect(v == Array(1...UInt32(perProducer))) }
    }

    @Test func expectedVersionConflictIsATypedErrorAndWritesNothing() throws {
        let dir = TempDir()
        let log = try openLog(directory: dir.path)
        defer { log.close() }
        _ = try log.appendSync([draft(stream: "agent:primary")], expecting: [ExpectedVersion(org: "haff", stream: "agent:primary", version: 0)])
        _ = try log.appendSync([draft(stream: "agent:primary")], expecting: [ExpectedVersion(org: "haff", stream: "agent:primary", version: 1)])
        #expect(log.streamVersion(org: "haff", stream: "agent:primary") == 2)
        do {
            _ = try log.appendSync([draft(stream: "agent:primary")], expecting: [ExpectedVersion(org: "haff", stream: "agent:primary", version: 1)])
            Issue.record("a stale expected version was accepted")
        } catch let e as LogError {
            #expect(e.code == .versionConflict)
            #expect(e.message.contains("version 2"))
        }
        // Same stream name in another org is another stream.
        _ = try log.appendSync([draft(org: "other", stream: "agent:primary")], expecting: [ExpectedVersion(org: "other", stream: "agent:primary", version: 0)])
        #expect(log.nextSequence == 4)
    }

    @Test func anEventIDAppendedTwiceIsStoredOnceAlsoAfterReopen() throws {
        let dir = TempDir()
        var log = try openLog(directory: dir.path)
        let a = try log.appendSync([draft(id: "evt-1"), draft(id: "evt-2")])
        let b = try log.appendSync([draft(id: "evt-2"), draft(id: "evt-3"), draft(id: "evt-3")])
        #expect(a.seqs == [1, 2])
        #expect(b.seqs == [2, 3, 3])
        #expect(b.duplicates == [true, false, true])
        log.close()
        log = try openLog(directory: dir.path)
        let c = try log.appendSync([draft(id: "evt-1")])
        #expect(c.seqs == [1] && c.duplicates == [true])
        log.close()
        #expect(try LogReader(directory: dir.path).events().count == 3)
    }

    @Test(arguments: ["", "bad org!", String(repeating: "o", count: 200)])
    func invalidOrgIsRefusedWithAReason(org: String) throws {
        let dir = TempDir()
        let log = try openLog(directory: dir.path)
        defer { log.close() }
        #expect(throws: LogError.self) { try log.appendSync([draft(org: org)]) }
        #expect(log.nextSequence == 1)
    }

    @Test func invalidPayloadJSONIsRefused() throws {
        let dir = TempDir()
        let log = try openLog(directory: dir.path)
        defer { log.close() }
        let bad = EventDraft(org: "haff", stream: "s", type: "x.y", data: Array(#"{"a": tru}"#.utf8))
        do {
            _ = try log.appendSync([bad])
            Issue.record("invalid JSON was accepted")
        } catch let e as LogError {
            #expect(e.code == .invalidEvent)
            #expect(e.message.contains("not valid JSON"))
        }
    }

    @Test func filtersByOrgTypeAndSeq() throws {
        let dir = TempDir()
        var options = EventLogOptions()
        options.segmentBytesMax = 4096 // many segments
        let log = try openLog(directory: dir.path, options: options)
        for i in 0..<300 {
            _ = try log.appendSync([draft(org: "org\(i % 7)", type: i % 2 == 0 ? "message.received" : "tool.executed", text: "event \(i)")])
        }
        log.close()
        let reader = LogReader(directory: dir.path)
        let all = try reader.events()
        #expect(all.count == 300)
        let org3 = try reader.events(.init(org: "org3"))
        #expect(org3.map(\.seq) == all.filter { parseObject($0.json)["org"] as? String == "org3" }.map(\.seq))
        let tools = try reader.events(.init(typePrefix: "tool."))
        #expect(tools.count == 150)
        let org3tools = try reader.events(.init(org: "org3", typePrefix: "tool.", fromSeq: 100))
        #expect(org3tools.allSatisfy { $0.seq >= 100 })
        #expect(org3tools.map(\.seq) == org3.filter { $0.seq >= 100 && parseObject($0.json)["type"] as? String == "tool.executed" }.map(\.seq))
        #expect(try reader.events(.init(fromSeq: 250, untilSeq: 260)).map(\.seq) == Array(250...260))
        #expect(try reader.stats().segments > 3)
    }

    @Test func readingOneOrgDecompressesOnlyThatOrgsFrames() throws {
        let dir = TempDir()
        let log = try openLog(directory: dir.path)
        for i in 0..<200 {
            _ = try log.appendSync((0..<10).map { j in draft(org: "org\(j)", text: "message \(i)-\(j) " + String(repeating: "x", count: 100)) })
        }
        log.close()
        let reader = LogReader(directory: dir.path)
        var all = LogReader.Counters(), one = LogReader.Counters()
        _ = try reader.scan(.init(), counters: &all) { _ in true }
        var n = 0
        _ = try reader.scan(.init(org: "org4"), counters: &one) { r in
            #expect(r.org == "org4")
            n += 1
            return true
        }
        #expect(n == 200)
        #expect(one.bytesDecompressed * 9 < all.bytesDecompressed)
    }

    @Test func sameStreamNameInTwoOrgsOfOneBatchIsIndexedPerOrg() throws {
        let dir = TempDir()
        let log = try openLog(directory: dir.path)
        _ = try log.appendSync([draft(org: "a", stream: "shared", id: "1"), draft(org: "b", stream: "shared", id: "2"),
                                draft(org: "b", stream: "only-b", id: "3"), draft(org: "a", stream: "shared", id: "4")])
        log.close() // writes the index
        let reader = LogReader(directory: dir.path)
        var seen: [String: [(String, UInt32)]] = [:]
        for org in ["a", "b"] {
            try reader.scan(.init(org: org)) { r in
                seen[org, default: []].append((r.stream, r.streamVersion))
                return true
            }
        }
        #expect(seen["a"]!.map(\.0) == ["shared", "shared"] && seen["a"]!.map(\.1) == [1, 2])
        #expect(seen["b"]!.map(\.0) == ["shared", "only-b"] && seen["b"]!.map(\.1) == [1, 1])
    }

    @Test func aFollowerSeesNewEvents() async throws {
        let dir = TempDir()
        let log = try openLog(directory: dir.path)
        _ = try log.appendSync([draft(text: "before")])
        let reader = LogReader(directory: dir.path)
        let seen = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            group.addTask {
                var got: [UInt64] = []
                do {
                    try await reader.follow(.init(org: "haff"), pollInterval: .milliseconds(5)) { r in
                        got.append(r.seq)
                        if got.count == 3 { throw CancellationError() }
                    }
                } catch is CancellationError {}
                return got
            }
            try await Task.sleep(for: .milliseconds(30))
            _ = try await log.append([draft(org: "other"), draft(text: "after 1")])
            _ = try await log.append([draft(text: "after 2")])
            return try await group.next()!
        }
        log.close()
        #expect(seen == [1, 3, 4])
    }

    @Test func aSecondWriterGetsAnErrorNamingTheHolder() throws {
        let dir = TempDir()
        let log = try openLog(directory: dir.path)
        defer { log.close() }
        do {
            _ = try openLog(directory: dir.path)
            Issue.record("two writers opened one log")
        } catch let e as LogError {
            #expect(e.code == .locked)
            #expect(e.message.contains("process \(getpid())"))
        }
    }

    @Test func aDeletedIndexIsRebuiltAndReadsStillWork() throws {
        let dir = TempDir()
        var options = EventLogOptions()
        options.segmentBytesMax = 2048
        var log = try openLog(directory: dir.path, options: options)
        for i in 0..<100 { _ = try log.appendSync([draft(org: "org\(i % 3)", text: "event \(i)")]) }
        log.close()
        let before = try LogReader(directory: dir.path).events(.init(org: "org1"))
        let indexDir = dir.path + "/index"
        let files = try FileManager.default.contentsOfDirectory(atPath: indexDir)
        #expect(files.count > 2)
        for f in files { try FileManager.default.removeItem(atPath: indexDir + "/" + f) }
        // Readers work without indexes (scanning headers)...
        #expect(try LogReader(directory: dir.path).events(.init(org: "org1")).map(\.seq) == before.map(\.seq))
        // ...and the writer rebuilds them on open.
        log = try openLog(directory: dir.path, options: options)
        #expect(!log.recovery.rebuiltIndexes.isEmpty)
        _ = try log.appendSync([draft(id: "evt-after")])
        log.close()
        #expect(try FileManager.default.contentsOfDirectory(atPath: indexDir).filter { $0.hasSuffix(".idx") }.count == files.count)
        #expect(try LogReader(directory: dir.path).events(.init(org: "org1")).map(\.seq) == before.map(\.seq))
    }

    @Test(arguments: [EventLogOptions.Compression.dictionary, .plain])
    func theStockLZ4ToolDecodesSegments(compression: EventLogOptions.Compression) throws {
        let dir = TempDir()
        var options = EventLogOptions()
        options.compression = compression
        options.segmentBytesMax = 8192
        let log = try openLog(directory: dir.path, options: options)
        for i in 0..<120 { _ = try log.appendSync([draft(org: "org\(i % 4)", text: "Grüße \(i)"), draft(org: "haff", type: "tool.executed")]) }
        log.close()
        let ours = try LogReader(directory: dir.path).events().map { String(decoding: $0.json, as: UTF8.self) }
        var theirs: [String] = []
        let segs = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/segments").sorted()
        #expect(segs.count > 1)
        for s in segs {
            var args = ["-dc"]
            if compression == .dictionary { args += ["-D", dir.path + "/lz4.dict"] }
            args.append(dir.path + "/segments/" + s)
            let result = try runProcess("/usr/bin/lz4", args)
            let (status, out, err) = (result.status, result.stdout, result.stderr)
            #expect(status == 0, "lz4 failed: \(err)")
            theirs += out.split(separator: "\n").map(String.init)
        }
        #expect(theirs == ours)
    }
}
