import Foundation
import Testing
@testable import EventLog

@Suite struct CrashTests {
    /// At 1,000 random points, a crash drops or tears every write that was not synced; after
    /// reopening, every acknowledged event is there with its seq and bytes, nothing half-written
    /// shows, the log verifies, and appends continue.
    @Test func simulatedCrashesAtAThousandPointsLoseNoAcknowledgedEvent() throws {
        var survivedTruncations = 0
        for iteration in 0..<1000 {
            var rng = SeededRandom(seed: UInt64(iteration) &* 7919 &+ 17)
            let fs = SimulatedFileSystem()
            var options = EventLogOptions()
            options.segmentBytesMax = UInt64.random(in: 1500...6000, using: &rng) // rolls happen
            options.compression = iteration % 5 == 0 ? .plain : .dictionary
            var acked: [String: (seq: UInt64, text: String)] = [:]
            var counter = 0

            // A couple of sessions: each opens, appends, and at a random operation the disk
            // starts failing (the process "dies" there), then the power goes.
            for round in 0..<2 {
                let log = try openLog(directory: "/data/log", options: options, fileSystem: fs)
                let failAt = Int.random(in: 0...40, using: &rng)
                fs.arm(.init(operations: [.write, .sync, .syncDirectory, .rename, .open], skip: failAt, errno: EIO,
                             sticky: true, partialWriteBytes: Int.random(in: 0...300, using: &rng)))
                for _ in 0..<Int.random(in: 1...12, using: &rng) {
                    let n = Int.random(in: 1...4, using: &rng)
                    var drafts: [EventDraft] = []
                    for _ in 0..<n {
                        counter += 1
                        drafts.append(draft(org: "org\(Int.random(in: 0...3, using: &rng))", stream: "s\(counter % 5)",
                                            text: "r\(round) event \(counter) " + String(repeating: "z", count: Int.random(in: 0...200, using: &rng)),
                                            id: "e\(counter)"))
                    }
                    do {
                        let r = try log.appendSync(drafts)
                        for (i, d) in drafts.enumerated() where !r.duplicates[i] {
                            acked[d.id] = (r.seqs[i], String(decoding: d.data, as: UTF8.self))
                        }
                    } catch let e as LogError {
                        #expect(e.code == .poisoned || e.code == .io, "unexpected error \(e)")
                    }
                }
                log.close()
                fs.crash(using: &rng)
            }

            let log = try openLog(directory: "/data/log", options: options, fileSystem: fs)
            survivedTruncations += log.recovery.truncations.count
            let next = log.nextSequence
            _ = try log.appendSync([draft(id: "after-crash")])
            log.close()

            let reader = LogReader(directory: "/data/log", fileSystem: fs)
            let verify = try reader.verify()
            #expect(verify.ok, "iteration \(iteration): \(verify.faults)")
            var found: [String: (UInt64, [UInt8])] = [:]
            try reader.scan(.init()) { r in
                let obj = parseObject(r.jsonBytes)
                found[obj["id"] as! String] = (r.seq, r.jsonBytes)
                return true
            }
            #expect(found["after-crash"]?.0 == next, "iteration \(iteration)")
            for (id, want) in acked {
                guard let got = found[id] else {
                    Issue.record("iteration \(iteration): acknowledged event \(id) (seq \(want.seq)) is lost")
                    continue
                }
                #expect(got.0 == want.seq, "iteration \(iteration): \(id) moved from seq \(want.seq) to \(got.0)")
                let data = parseObject(got.1)["data"] as? [String: Any]
                #expect((parseObject(Array(want.text.utf8))["text"] as? String) == data?["text"] as? String)
            }
        }
        // The crashes really did tear tails (otherwise the test proves little).
        #expect(survivedTruncations > 50)
    }

    @Test func aTornTailIsCutAndReportedWithItsRange() throws {
        let fs = SimulatedFileSystem()
        var log = try openLog(directory: "/d", fileSystem: fs)
        _ = try log.appendSync([draft(id: "a"), draft(id: "b")])
        _ = try log.appendSync([draft(id: "c")])
        log.close()
        let seg = "/d/segments/" + Format.segmentName(1)
        var bytes = fs.contents(seg)!
        let intact = bytes.count
        // A third batch written halfway.
        log = try openLog(directory: "/d", fileSystem: fs)
        _ = try log.appendSync([draft(id: "d"), draft(id: "e")])
        log.close()
        let full = fs.contents(seg)!
        bytes = Array(full[0..<(full.count - 5)]) // header intact, data cut short
        fs.setContents(seg, bytes)
        try? fs.remove("/d/index/" + Format.indexName(1))
        log = try openLog(directory: "/d", fileSystem: fs)
        #expect(log.recovery.truncations.count == 1)
        let t = log.recovery.truncations[0]
        #expect(t.offset == UInt64(intact))
        #expect(t.bytes == UInt64(bytes.count - intact))
        #expect(t.firstSeq == 4 && t.lastSeq == 5)
        #expect(log.nextSequence == 4)
        log.close()
        #expect(try LogReader(directory: "/d", fileSystem: fs).verify().ok)
    }

    @Test func damageInTheMiddleIsReportedNeverSkipped() throws {
        let fs = SimulatedFileSystem()
        var log = try openLog(directory: "/d", fileSystem: fs)
        for i in 0..<5 { _ = try log.appendSync([draft(text: "event number \(i)", id: "e\(i)")]) }
        log.close()
        let seg = "/d/segments/" + Format.segmentName(1)
        var bytes = fs.contents(seg)!
        // Damage the second batch's data.
        let second = try batchOffsets(bytes)[1]
        bytes[Int(second.dataOffset) + 10] ^= 0x40
        fs.setContents(seg, bytes)
        let report = try LogReader(directory: "/d", fileSystem: fs).verify()
        #expect(!report.ok)
        #expect(report.faults.first?.offset == second.offset)
        #expect(report.faults.first?.firstSeq == 2)
        // Readers hit the damage and say where, whatever the index says.
        #expect(throws: LogError.self) { _ = try LogReader(directory: "/d", fileSystem: fs).events() }
        // Opening for writing trusts the index (no rescan); without one it scans and refuses.
        try fs.remove("/d/index/" + Format.indexName(1))
        do {
            log = try openLog(directory: "/d", fileSystem: fs)
            log.close()
            Issue.record("a log damaged in the middle was opened for writing")
        } catch let e as LogError {
            #expect(e.code == .corruptMiddle)
            #expect(e.message.contains("offset \(second.offset)"))
        }
    }

    /// Flipping any single bit of a segment is caught by verify.
    @Test func everySingleBitFlipIsDetected() throws {
        let fs = SimulatedFileSystem()
        let log = try openLog(directory: "/d", fileSystem: fs)
        _ = try log.appendSync([draft(org: "haff", id: "a"), draft(org: "other", id: "b")])
        _ = try log.appendSync([draft(org: "haff", type: "tool.executed", text: "x", id: "c")])
        _ = try log.appendSync([draft(org: "third", text: "Grüße", id: "d")])
        log.close()
        let seg = "/d/segments/" + Format.segmentName(1)
        let original = fs.contents(seg)!
        try? fs.remove("/d/index/" + Format.indexName(1))
        let reader = LogReader(directory: "/d", fileSystem: fs)
        #expect(try reader.verify().ok)
        var missed: [Int] = []
        for bit in 0..<(original.count * 8) {
            var bytes = original
            bytes[bit / 8] ^= UInt8(1 << (bit % 8))
            fs.setContents(seg, bytes)
            let ok = (try? reader.verify().ok) ?? false
            if ok { missed.append(bit) }
        }
        fs.setContents(seg, original)
        #expect(missed.isEmpty, "undetected bit flips at bits \(missed.prefix(20))")
        #expect(original.count * 8 > 4000)
    }

    @Test func aFailedSyncPoisonsTheLogUntilReopened() throws {
        let fs = SimulatedFileSystem()
        var log = try openLog(directory: "/d", fileSystem: fs)
        _ = try log.appendSync([draft(id: "ok")])
        fs.arm(.init(operations: [.sync], errno: ENOSPC))
        #expect(throws: LogError.self) { try log.appendSync([draft(id: "lost")]) }
        // The fault was one-shot, but the log must not carry on as if the sync had worked.
        do {
            _ = try log.appendSync([draft(id: "after")])
            Issue.record("append after a failed fdatasync was acknowledged")
        } catch let e as LogError {
            #expect(e.code == .poisoned)
        }
        log.close()
        log = try openLog(directory: "/d", fileSystem: fs)
        let r = try log.appendSync([draft(id: "after-reopen")])
        log.close()
        let ids = try LogReader(directory: "/d", fileSystem: fs).events().map { parseObject($0.json)["id"] as! String }
        #expect(ids.first == "ok" && ids.last == "after-reopen")
        #expect(r.seqs[0] == UInt64(ids.count))
    }
}

/// Offsets of each batch in a segment's bytes.
func batchOffsets(_ bytes: [UInt8]) throws -> [(offset: UInt64, dataOffset: UInt64)] {
    let fs = SimulatedFileSystem()
    fs.setContents("/x", bytes)
    let h = try fs.open("/x", mode: .readOnly)
    var scanner = SegmentScanner(handle: h, fileSize: UInt64(bytes.count), offset: UInt64(Format.segmentHeaderBytes))
    var out: [(UInt64, UInt64)] = []
    while case .batch(let b) = try scanner.next(data: nil) { out.append((b.offset, b.dataOffset)) }
    return out
}
