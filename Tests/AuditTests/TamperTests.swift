import Audit
@testable import EventLog
import Foundation
import PurserDomain
import Testing

/// Item 4: every kind of tampering with the bytes of a log is detected by `verify` (what
/// `purser log verify` prints) and by the audit (rule `log.integrity`), naming where.
///
/// The tamperings are built from FORMAT.md with the log's own encoders (`@testable`): a forger
/// who knows the format recomputes every CRC, so only the hash chain can catch them.
@Suite struct TamperTests {
    enum Tampering: String, CaseIterable, Sendable {
        /// One byte of a batch's compressed data flipped, nothing else touched.
        case byteEdited
        /// An event's text changed, the batch re-compressed, its data CRC, frame table and
        /// header CRC recomputed (the batch alone is internally consistent).
        case recompressedWithFixedCRC
        /// A whole batch cut out of a segment.
        case batchDeleted
        /// Two neighbouring batches swapped.
        case batchesReordered
        /// A segment in the middle of the log cut short (its tail and the batches in it gone).
        case middleTruncated
    }

    /// Seeded log: small segments, one batch per event, two orgs.
    static func seed(_ dir: TempDir) throws -> (segments: [String], events: Int) {
        var options = EventLogOptions()
        options.segmentBytesMax = 6_000
        let log = try EventLog.open(directory: dir.logDirectory, options: options, logger: quietLogger)
        let h = History(log: log)
        try h.cleanBase()
        for s in ["s2", "s3", "s4"] {
            try h.open(s)
            try h.cleanSupervisedTurn(s)
        }
        let other = History(log: log, org: "other", clock: h.clock)
        try other.object("c_1")
        log.close()
        let segments = try FileManager.default.contentsOfDirectory(atPath: dir.logDirectory + "/segments").filter { $0.hasSuffix(".lz4") }.sorted()
        return (segments, h.n + other.n)
    }

    static func batches(_ path: String) throws -> [ScannedBatch] {
        let fs = PosixFileSystem()
        let h = try fs.open(path, mode: .readOnly)
        defer { h.close() }
        var scanner = SegmentScanner(handle: h, fileSize: try h.size(), offset: UInt64(Format.segmentHeaderBytes))
        var out: [ScannedBatch] = []
        while case .batch(let b) = try scanner.next(data: nil) { out.append(b) }
        return out
    }

    /// Applies the tampering to the second segment (which has segments before and after it);
    /// returns the segment's name and the first seq of the batch tampered with.
    static func tamper(_ kind: Tampering, _ dir: TempDir, segments: [String]) throws -> (segment: String, seq: UInt64, offset: UInt64, end: UInt64) {
        #expect(segments.count >= 3, "the seed needs segments before and after the one tampered with")
        let name = segments[1]
        let path = dir.logDirectory + "/segments/" + name
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let bs = try batches(path)
        #expect(bs.count >= 4)
        let b = bs[1], next = bs[2]
        switch kind {
        case .byteEdited:
            bytes[Int(b.dataOffset) + Int(b.header.dataBytes) / 2] ^= 0x20
        case .recompressedWithFixedCRC:
            let dict = try LogPaths(dir: dir.logDirectory).loadDictionary(PosixFileSystem())
            let decoder = LZ4FrameDecoder(dictionary: dict?.bytes ?? [])
            let compressor = try LZ4Compressor(dictionary: dict?.bytes, dictID: dict?.id ?? 0)
            var header = b.header
            var data: [UInt8] = []
            var at = Int(b.dataOffset)
            for (i, f) in header.frames.enumerated() {
                var raw: [UInt8] = []
                try bytes[at..<(at + Int(f.compressedBytes))].withUnsafeBytes { try decoder.decode($0, expectedSize: Int(f.rawBytes), into: &raw) }
                at += Int(f.compressedBytes)
                // Same length, different meaning: the forger rewrites history.
                var text = String(decoding: raw, as: UTF8.self)
                text = text.replacingOccurrences(of: "\"ts\":\"2026-11-", with: "\"ts\":\"2026-12-")
                    .replacingOccurrences(of: "\"durationMs\":2", with: "\"durationMs\":9")
                    .replacingOccurrences(of: "\"c_17\"", with: "\"c_18\"")
                    .replacingOccurrences(of: "anna", with: "eve!")
                let changed = Array(text.utf8)
                #expect(changed.count == raw.count)
                let size = try changed.withUnsafeBytes { try compressor.compressFrame($0, into: &data) }
                header.frames[i].compressedBytes = UInt32(size)
            }
            header.dataBytes = UInt64(data.count)
            header.dataCRC = crc32c(data)
            let encoded = header.encode()
            bytes = Array(bytes[..<Int(b.offset)]) + encoded.bytes + data + Array(bytes[Int(b.endOffset)...])
            // Sanity: the forged batch is internally consistent; only the chain can tell.
            #expect(encoded.hash != b.hash)
        case .batchDeleted:
            bytes.removeSubrange(Int(b.offset)..<Int(b.endOffset))
        case .batchesReordered:
            let first = Array(bytes[Int(b.offset)..<Int(b.endOffset)])
            let second = Array(bytes[Int(next.offset)..<Int(next.endOffset)])
            bytes.replaceSubrange(Int(b.offset)..<Int(next.endOffset), with: second + first)
        case .middleTruncated:
            bytes.removeSubrange((Int(b.offset) + 20)...)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        // A forger deletes the derived indexes too; they are rebuilt from the segments.
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.logDirectory + "/index") {
            try FileManager.default.removeItem(atPath: dir.logDirectory + "/index/" + f)
        }
        return (name, b.header.firstSeq, b.offset, next.endOffset)
    }

    @Test func untouchedLogVerifiesClean() throws {
        let dir = TempDir()
        let seeded = try Self.seed(dir)
        #expect(seeded.segments.count >= 3)
        let v = try LogReader(directory: dir.logDirectory).verify()
        #expect(v.ok && v.events == UInt64(seeded.events))
        #expect(try audit(dir).ok)
    }

    @Test(arguments: Tampering.allCases)
    func tamperingIsDetectedAndLocated(_ kind: Tampering) throws {
        let dir = TempDir()
        let seeded = try Self.seed(dir)
        let place = try Self.tamper(kind, dir, segments: seeded.segments)
        let segment = place.segment, seq = place.seq
        let v = try LogReader(directory: dir.logDirectory).verify()
        #expect(!v.ok, "\(kind) not detected by verify")
        #expect(v.faults.contains { $0.segment == segment }, "\(v.faults)")
        // Located: a fault in that segment at the batch touched or the one after it, by offset or seq.
        #expect(v.faults.contains { f in
            f.segment == segment && ((f.firstSeq.map { $0 >= seq - 1 && $0 <= seq + 2 } ?? false) || (f.offset >= place.offset && f.offset <= place.end))
        }, "\(v.faults)")

        let report = try audit(dir)
        #expect(!report.ok)
        let integrity = report.violations.filter { $0.rule == .integrity }
        #expect(!integrity.isEmpty)
        #expect(integrity.contains { $0.detail.contains(segment) }, "\(integrity)")
    }
}
