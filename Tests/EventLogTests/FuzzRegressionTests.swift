import Foundation
import Testing
@testable import EventLog

/// Inputs found by the fuzz targets (Fuzz/FuzzEventLog), each kept as the case it broke.
@Suite struct FuzzRegressionTests {
    /// A one-event batch header, its payload patched by `patch` and its checksum made valid again.
    static func patchedHeader(_ patch: (inout [UInt8]) -> Void) -> [UInt8] {
        let header = BatchHeader(firstSeq: 1, commitMs: 0, minTs: 0, maxTs: 0, dataCRC: 0, dataBytes: 10,
                                 prevHash: Format.zeroHash, strings: ["haff"],
                                 frames: [FrameMeta(org: 0, eventCount: 1, compressedBytes: 10, rawBytes: 20)],
                                 events: [EventMeta(rawBytes: 19, type: 0, stream: 0, streamVersion: 1)])
        var payload = Array(header.encode().bytes.dropFirst(8))
        patch(&payload)
        let crc = crc32c(Array(payload[0..<(payload.count - 4)]))
        withUnsafeBytes(of: crc.littleEndian) { payload.replaceSubrange((payload.count - 4)..., with: $0) }
        return payload
    }

    /// Fuzz/crashes/FuzzEventLog-oom-022e92b8…: a header whose checksum holds but whose event and
    /// string counts are near UInt32.max made the decoder reserve room for billions of strings
    /// (a 13 GB allocation) before reading a single one. Counts that cannot fit in the header are
    /// now refused as corrupt.
    @Test func batchHeaderWithHugeCountsIsCorruptNotAnAllocation() throws {
        let payload = Self.patchedHeader { p in
            p.replaceSubrange(16..<20, with: [0xFF, 0xFF, 0xFF, 0xFF]) // eventCount
            p.replaceSubrange(24..<28, with: [0xFF, 0xFF, 0xFF, 0xFF]) // stringCount
        }
        #expect(throws: LogError.self) {
            _ = try payload.withUnsafeBytes { try BatchHeader.decode(payload: $0) }
        }
        // The unpatched header still decodes.
        let intact = Self.patchedHeader { _ in }
        let decoded = try intact.withUnsafeBytes { try BatchHeader.decode(payload: $0) }
        #expect(decoded.0.strings == ["haff"] && decoded.0.eventCount == 1)
    }

    /// Fuzz/crashes/FuzzEventLog-crash-45949add…: a header whose checksum holds but whose first
    /// seq is UInt64.max overflowed `lastSeq` (firstSeq + count - 1, then + 1) and trapped in
    /// `LogReader.scan`. Seqs that leave no room for the batch are now refused as corrupt.
    @Test func batchHeaderWhoseSeqsOverflowIsCorruptNotATrap() {
        for firstSeq: UInt64 in [.max, 0] {
            let payload = Self.patchedHeader { p in
                withUnsafeBytes(of: firstSeq.littleEndian) { p.replaceSubrange(8..<16, with: $0) }
            }
            #expect(throws: LogError.self) {
                _ = try payload.withUnsafeBytes { try BatchHeader.decode(payload: $0) }
            }
        }
        // The highest first seq that still leaves room for its one event decodes.
        let last = Self.patchedHeader { p in
            withUnsafeBytes(of: (UInt64.max - 1).littleEndian) { p.replaceSubrange(8..<16, with: $0) }
        }
        #expect((try? last.withUnsafeBytes { try BatchHeader.decode(payload: $0) })?.0.lastSeq == .max - 1)
    }

    /// Fuzz/crashes/FuzzEventLog-crash-35a5ae0f…: a segment whose header (checksum intact) names
    /// seq 0 and holds no batch made `verify()` compute `0 - 1` and trap. Such a header is now
    /// refused as corrupt, and verify reports a fault instead of crashing.
    @Test func segmentHeaderNamingSeqZeroIsCorruptNotATrap() throws {
        let header = SegmentHeader(firstSeq: 0, dictID: 0, prevHash: Format.zeroHash, createdMs: 0).encode()
        #expect(throws: LogError.self) {
            _ = try header.withUnsafeBytes { try SegmentHeader.decode($0) }
        }
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/log")
        try fs.createDirectory("/log/segments")
        fs.setContents("/log/segments/" + Format.segmentName(1), header)
        let report = try LogReader(directory: "/log", fileSystem: fs).verify()
        #expect(!report.ok)
    }
}
