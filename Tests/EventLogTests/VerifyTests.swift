import Foundation
import Testing
@testable import EventLog

/// `verify()` tells a crash's torn tail (normal until the next writer opens the log) from damage.
@Suite struct VerifyTests {
    /// A log of three batches (seqs 1–2, 3, 4–5) in one segment, with the offset where the third
    /// batch starts.
    static func threeBatches() throws -> (fs: SimulatedFileSystem, segment: String, full: [UInt8], lastBatch: Int) {
        let fs = SimulatedFileSystem()
        let log = try openLog(directory: "/d", fileSystem: fs)
        _ = try log.appendSync([draft(id: "a"), draft(id: "b")])
        _ = try log.appendSync([draft(id: "c")])
        _ = try log.appendSync([draft(org: "other", id: "d"), draft(text: "Grüße aus Kiel", id: "e")])
        log.close()
        let segment = "/d/segments/" + Format.segmentName(1)
        let full = fs.contents(segment)!
        let lastBatch = Int(try batchOffsets(full)[2].offset)
        return (fs, segment, full, lastBatch)
    }

    /// Cut anywhere inside the last batch (its frame header, its batch header, its data), the log
    /// verifies: no acknowledged event is lost, and the tail's size and seqs are reported.
    @Test func verifyReportsATornLastBatchAsATornTailNotDamage() throws {
        let (fs, segment, full, lastBatch) = try Self.threeBatches()
        let reader = LogReader(directory: "/d", fileSystem: fs)
        var checked = 0
        for length in (lastBatch + 1)..<full.count {
            fs.setContents(segment, Array(full[0..<length]))
            let report = try reader.verify()
            let context = "cut to \(length) of \(full.count) bytes (last batch at \(lastBatch))"
            #expect(report.ok, "\(context): \(report.faults)")
            guard let tail = report.tornTail else {
                Issue.record("\(context): no torn tail reported")
                continue
            }
            #expect(tail.offset == UInt64(lastBatch), "\(context)")
            #expect(tail.bytes == UInt64(length - lastBatch), "\(context)")
            #expect(tail.description.hasPrefix("torn tail from an interrupted write, \(length - lastBatch) bytes, no acknowledged event lost"), "\(context)")
            #expect(report.lastSeq == 3 && report.events == 3, "\(context)")
            checked += 1
        }
        #expect(checked > 100)
        // The writer agrees: it cuts exactly those bytes and the log verifies clean afterwards.
        fs.setContents(segment, Array(full[0..<(full.count - 7)]))
        let log = try openLog(directory: "/d", fileSystem: fs)
        #expect(log.recovery.truncations.map(\.bytes) == [UInt64(full.count - 7 - lastBatch)])
        log.close()
        let after = try reader.verify()
        #expect(after.ok && after.tornTail == nil)
    }

    /// The last batch all there but failing its checksum is damage, not a torn write: it may have
    /// been acknowledged.
    @Test func verifyFaultsAWholeLastBatchThatFailsItsChecksum() throws {
        let (fs, segment, full, _) = try Self.threeBatches()
        var bytes = full
        bytes[bytes.count - 3] ^= 0x10
        fs.setContents(segment, bytes)
        let report = try LogReader(directory: "/d", fileSystem: fs).verify()
        #expect(!report.ok)
        #expect(report.tornTail == nil)
        #expect(report.faults.first?.firstSeq == 4)
    }

    /// A damaged size field makes a whole last batch look longer than the file; its header's own
    /// tables say its real size, so this is damage, not a cut.
    @Test func verifyFaultsALastBatchWhoseHeaderSizeWasDamaged() throws {
        let (fs, segment, full, lastBatch) = try Self.threeBatches()
        var bytes = full
        bytes[lastBatch + 5] ^= 0x04 // bit 10 of the header frame's payload size: +1024 bytes
        fs.setContents(segment, bytes)
        let report = try LogReader(directory: "/d", fileSystem: fs).verify()
        #expect(!report.ok)
        #expect(report.tornTail == nil)
    }

    /// Damage in the middle stays a fault even when the log also ends in a torn write.
    @Test func verifyFaultsDamageInTheMiddleAlsoWithATornTail() throws {
        let (fs, segment, _, _) = try Self.threeBatches()
        let log = try openLog(directory: "/d", fileSystem: fs)
        _ = try log.appendSync([draft(id: "f")])
        log.close()
        let full = fs.contents(segment)!
        let batches = try batchOffsets(full)
        #expect(batches.count == 4)
        // The second batch damaged, an intact third after it, the fourth torn.
        var bytes = Array(full[0..<(full.count - 4)])
        bytes[Int(batches[1].dataOffset) + 3] ^= 0x40
        fs.setContents(segment, bytes)
        let report = try LogReader(directory: "/d", fileSystem: fs).verify()
        #expect(!report.ok)
        #expect(report.faults.map(\.offset) == [batches[1].offset])
        #expect(report.tornTail?.offset == batches[3].offset)
    }

    /// A crash while the newest segment was being created leaves a file shorter than its header:
    /// nothing in it was acknowledged, so it is a torn tail too, and the writer removes it.
    @Test func verifyReportsACutShortNewestSegmentHeaderAsATornTail() throws {
        let (fs, _, _, _) = try Self.threeBatches()
        let header = SegmentHeader(firstSeq: 6, dictID: 0, prevHash: Format.zeroHash, createdMs: 0).encode()
        let newest = "/d/segments/" + Format.segmentName(6)
        fs.setContents(newest, Array(header.prefix(30)))
        let reader = LogReader(directory: "/d", fileSystem: fs)
        let report = try reader.verify()
        #expect(report.ok, "\(report.faults)")
        #expect(report.tornTail?.segment == Format.segmentName(6))
        #expect(report.tornTail?.bytes == 30)
        // Bytes that are not the start of a segment header are damage.
        fs.setContents(newest, [UInt8](repeating: 0xAB, count: 30))
        #expect(try !reader.verify().ok)
        fs.setContents(newest, Array(header.prefix(30)))
        let log = try openLog(directory: "/d", fileSystem: fs)
        #expect(log.recovery.removedSegments == [Format.segmentName(6)])
        log.close()
        #expect(try reader.verify().tornTail == nil)
    }
}
