import Crypto

/// On-disk constants of the log; `eventlog/FORMAT.md` explains each byte.
enum Format {
    /// LZ4 skippable frame magics (0x184D2A50...5F are reserved for skippable frames).
    static let segmentFrameMagic: UInt32 = 0x184D_2A50
    static let batchFrameMagic: UInt32 = 0x184D_2A51
    static let segmentMagic: UInt32 = 0x4745_5350 // "PSEG"
    static let batchMagic: UInt32 = 0x5441_4250 // "PBAT"
    static let indexMagic: UInt32 = 0x5844_4950 // "PIDX"
    static let version: UInt16 = 1
    static let hashBytes = 32
    static let zeroHash = [UInt8](repeating: 0, count: 32)

    static let segmentHeaderPayloadBytes = 68
    static let segmentHeaderBytes = 8 + segmentHeaderPayloadBytes
    /// Fixed part of a batch header payload, before its tables.
    static let batchFixedBytes = 4 + 2 + 2 + 8 + 4 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 32
    static let eventMetaBytes = 12
    static let frameMetaBytes = 16
    /// A batch header larger than this is damage, not data.
    static let batchHeaderBytesMax = 8 << 20

    static func segmentName(_ firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".lz4"
    }

    static func indexName(_ firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".idx"
    }

    static func parseSegmentName(_ name: String) -> UInt64? {
        guard name.hasSuffix(".lz4"), name.count == 24 else { return nil }
        return UInt64(name.prefix(20))
    }

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }
}

/// The skippable frame that opens every segment.
struct SegmentHeader: Equatable {
    var firstSeq: UInt64
    var dictID: UInt32
    var prevHash: [UInt8]
    var createdMs: Int64

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Format.segmentHeaderBytes)
        w.u32(Format.segmentFrameMagic)
        w.u32(UInt32(Format.segmentHeaderPayloadBytes))
        w.u32(Format.segmentMagic)
        w.u16(Format.version)
        w.u16(0)
        w.u64(firstSeq)
        w.u32(dictID)
        w.u32(0)
        w.raw(prevHash)
        w.i64(createdMs)
        let crc = w.bytes.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[8...])) }
        w.u32(crc)
        precondition(w.bytes.count == Format.segmentHeaderBytes)
        return w.bytes
    }

    static func decode(_ b: UnsafeRawBufferPointer) throws -> SegmentHeader {
        guard b.count >= Format.segmentHeaderBytes else { throw LogError(.corrupt, "segment header is cut short") }
        var r = ByteReader(b)
        guard try r.u32() == Format.segmentFrameMagic, try r.u32() == UInt32(Format.segmentHeaderPayloadBytes),
              try r.u32() == Format.segmentMagic else { throw LogError(.corrupt, "not a Purser segment (bad magic)") }
        let version = try r.u16()
        guard version == Format.version else { throw LogError(.format, "segment format version \(version) is not supported (this build reads \(Format.version))") }
        _ = try r.u16()
        let firstSeq = try r.u64()
        let dictID = try r.u32()
        _ = try r.u32()
        let prev = try r.raw(32)
        let created = try r.i64()
        let crc = try r.u32()
        let want = crc32c(UnsafeRawBufferPointer(rebasing: b[8..<(Format.segmentHeaderBytes - 4)]))
        guard crc == want else { throw LogError(.corrupt, "segment header checksum mismatch") }
        // Seqs start at 1; a segment claiming seq 0 made `verify` compute 0 - 1 and trap (found by
        // Fuzz/FuzzEventLog).
        guard firstSeq >= 1 else { throw LogError(.corrupt, "segment header names seq 0; seqs start at 1") }
        return SegmentHeader(firstSeq: firstSeq, dictID: dictID, prevHash: prev, createdMs: created)
    }
}

struct FrameMeta: Equatable {
    var org: UInt32
    var eventCount: UInt32
    var compressedBytes: UInt32
    var rawBytes: UInt32
}

struct EventMeta: Equatable {
    var rawBytes: UInt32
    var type: UInt16
    var stream: UInt16
    var streamVersion: UInt32
}

/// A batch's metadata: the skippable frame in front of its LZ4 frames.
struct BatchHeader {
    var firstSeq: UInt64
    var commitMs: Int64
    var minTs: Int64
    var maxTs: Int64
    var dataCRC: UInt32
    var dataBytes: UInt64
    var prevHash: [UInt8]
    var strings: [String]
    var frames: [FrameMeta]
    var events: [EventMeta]

    var eventCount: Int { events.count }
    var lastSeq: UInt64 { firstSeq + UInt64(events.count) - 1 }
    /// The orgs of the batch's frames, in frame order.
    var orgNames: [String] { frames.map { strings[Int($0.org)] } }

    /// Encodes the header as a skippable frame; returns the frame and the batch's chain hash
    /// (SHA-256 of the payload, which includes the data CRC and the previous hash).
    func encode() -> (bytes: [UInt8], hash: [UInt8]) {
        var w = ByteWriter(capacity: 8 + Format.batchFixedBytes + events.count * Format.eventMetaBytes + strings.count * 24 + frames.count * 16 + 4)
        w.u32(Format.batchFrameMagic)
        w.u32(0) // payload size, patched below
        w.u32(Format.batchMagic)
        w.u16(Format.version)
        w.u16(0)
        w.u64(firstSeq)
        w.u32(UInt32(events.count))
        w.u32(UInt32(frames.count))
        w.u32(UInt32(strings.count))
        w.u32(dataCRC)
        w.u64(dataBytes)
        w.i64(commitMs)
        w.i64(minTs)
        w.i64(maxTs)
        w.raw(prevHash)
        for s in strings { w.string(s) }
        for f in frames {
            w.u32(f.org); w.u32(f.eventCount); w.u32(f.compressedBytes); w.u32(f.rawBytes)
        }
        for e in events {
            w.u32(e.rawBytes); w.u16(e.type); w.u16(e.stream); w.u32(e.streamVersion)
        }
        let crc = w.bytes.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[8...])) }
        w.u32(crc)
        w.patchU32(at: 4, UInt32(w.bytes.count - 8))
        let hash = w.bytes.withUnsafeBytes { Format.sha256(UnsafeRawBufferPointer(rebasing: $0[8...])) }
        return (w.bytes, hash)
    }

    /// Decodes a header payload (the bytes after the 8-byte skippable frame header).
    static func decode(payload b: UnsafeRawBufferPointer) throws -> (BatchHeader, hash: [UInt8]) {
        guard b.count >= Format.batchFixedBytes + 4 else { throw LogError(.corrupt, "batch header is cut short") }
        let crc = loadU32LE(b, b.count - 4)
        guard crc32c(UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 4)])) == crc else {
            throw LogError(.corrupt, "batch header checksum mismatch")
        }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 4)]))
        guard try r.u32() == Format.batchMagic else { throw LogError(.corrupt, "batch header has a bad magic number") }
        let version = try r.u16()
        guard version == Format.version else { throw LogError(.format, "batch format version \(version) is not supported") }
        _ = try r.u16()
        let firstSeq = try r.u64()
        let eventCount = Int(try r.u32())
        let frameCount = Int(try r.u32())
        let stringCount = Int(try r.u32())
        let dataCRC = try r.u32()
        let dataBytes = try r.u64()
        let commitMs = try r.i64()
        let minTs = try r.i64()
        let maxTs = try r.i64()
        let prev = try r.raw(32)
        guard eventCount > 0, frameCount > 0, frameCount <= eventCount, stringCount <= 3 * eventCount + 3 else {
            throw LogError(.corrupt, "batch header has impossible counts")
        }
        // The tables must fit in the payload before anything is reserved for them: counts near
        // UInt32.max would otherwise ask for gigabytes (found by Fuzz/FuzzEventLog).
        guard stringCount * 2 + frameCount * Format.frameMetaBytes + eventCount * Format.eventMetaBytes <= r.remaining else {
            throw LogError(.corrupt, "batch header's tables do not fit in the header")
        }
        // Seqs start at 1 and the seq after the batch must exist: `lastSeq + 1` would otherwise
        // overflow and trap in every reader (found by Fuzz/FuzzEventLog).
        guard firstSeq >= 1, firstSeq <= UInt64.max - UInt64(eventCount) else {
            throw LogError(.corrupt, "batch header's seqs \(firstSeq)+\(eventCount) are out of range")
        }
        var strings: [String] = []
        strings.reserveCapacity(stringCount)
        for _ in 0..<stringCount { strings.append(try r.string()) }
        var frames: [FrameMeta] = []
        frames.reserveCapacity(frameCount)
        var counted = 0
        var dataSum: UInt64 = 0
        for _ in 0..<frameCount {
            let f = FrameMeta(org: try r.u32(), eventCount: try r.u32(), compressedBytes: try r.u32(), rawBytes: try r.u32())
            guard Int(f.org) < stringCount, f.eventCount > 0 else { throw LogError(.corrupt, "batch header frame table is inconsistent") }
            counted += Int(f.eventCount)
            dataSum += UInt64(f.compressedBytes)
            frames.append(f)
        }
        guard counted == eventCount, dataSum == dataBytes else { throw LogError(.corrupt, "batch header frame table does not add up") }
        try r.need(eventCount * Format.eventMetaBytes)
        var events: [EventMeta] = []
        events.reserveCapacity(eventCount)
        let base = r.bytes.baseAddress! + r.offset
        for i in 0..<eventCount {
            let p = UnsafeRawBufferPointer(start: base + i * 12, count: 12)
            let e = EventMeta(rawBytes: loadU32LE(p, 0),
                              type: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt16.self)),
                              stream: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 6, as: UInt16.self)),
                              streamVersion: loadU32LE(p, 8))
            guard Int(e.type) < stringCount, Int(e.stream) < stringCount else { throw LogError(.corrupt, "batch header event table is inconsistent") }
            events.append(e)
        }
        r.offset += eventCount * 12
        guard r.remaining == 0 else { throw LogError(.corrupt, "batch header has \(r.remaining) unexplained bytes") }
        let header = BatchHeader(firstSeq: firstSeq, commitMs: commitMs, minTs: minTs, maxTs: maxTs, dataCRC: dataCRC,
                                 dataBytes: dataBytes, prevHash: prev, strings: strings, frames: frames, events: events)
        return (header, Format.sha256(b))
    }
}

extension BatchHeader {
    /// Whether `prefix`, the first bytes of a batch header payload whose frame says it is
    /// `payloadBytes` long, can be the start of the header the writer would write next: magic and
    /// version, `firstSeq` and `prevHash` continuing the log, and, once the strings are in the
    /// prefix, tables that add up to `payloadBytes`. Tells a header cut short by a crash from one
    /// whose size field is damaged (the whole header is there and says another size). A field the
    /// prefix holds only in part is compared as far as it goes.
    static func prefixIsConsistent(_ prefix: [UInt8], payloadBytes: Int, firstSeq: UInt64, prevHash: [UInt8]) -> Bool {
        guard prefix.count < payloadBytes else { return false }
        var expected: [(offset: Int, bytes: [UInt8])] = []
        var w = ByteWriter(capacity: 16)
        w.u32(Format.batchMagic)
        w.u16(Format.version)
        w.u16(0)
        w.u64(firstSeq)
        expected.append((0, w.bytes))
        expected.append((Format.batchFixedBytes - Format.hashBytes, prevHash))
        for field in expected {
            for (i, byte) in field.bytes.enumerated() where field.offset + i < prefix.count {
                guard prefix[field.offset + i] == byte else { return false }
            }
        }
        guard prefix.count >= Format.batchFixedBytes else { return true }
        return prefix.withUnsafeBytes { p -> Bool in
            let eventCount = Int(loadU32LE(p, 16)), frameCount = Int(loadU32LE(p, 20)), stringCount = Int(loadU32LE(p, 24))
            guard eventCount > 0, frameCount > 0, frameCount <= eventCount, stringCount <= 3 * eventCount + 3 else { return false }
            var at = Format.batchFixedBytes
            for _ in 0..<stringCount {
                guard at + 2 <= p.count else { return true } // cut inside the strings: nothing more to check
                at += 2 + Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
            }
            return at + frameCount * Format.frameMetaBytes + eventCount * Format.eventMetaBytes + 4 == payloadBytes
        }
    }
}
