/// A batch found while walking a segment.
struct ScannedBatch {
    /// File offset of the batch's skippable header frame.
    var offset: UInt64
    /// Header frame size (8-byte frame header + payload).
    var headerBytes: Int
    var header: BatchHeader
    var hash: [UInt8]

    var dataOffset: UInt64 { offset + UInt64(headerBytes) }
    var totalBytes: UInt64 { UInt64(headerBytes) + header.dataBytes }
    var endOffset: UInt64 { offset + totalBytes }
}

enum ScanStep {
    case batch(ScannedBatch)
    /// Clean end of the segment.
    case end
    /// Bytes at `offset` are not an intact batch.
    case damaged(offset: UInt64, reason: String, firstSeq: UInt64?, lastSeq: UInt64?)
}

/// Walks the batches of one segment file in order, checking each header's checksum and, when
/// asked, the data's; used by recovery, verification, index rebuilds and tail reads.
struct SegmentScanner {
    let handle: any FileHandle
    let fileSize: UInt64
    var offset: UInt64

    init(handle: any FileHandle, fileSize: UInt64, offset: UInt64) {
        self.handle = handle
        self.fileSize = fileSize
        self.offset = offset
    }

    /// Reads the next batch. With `data`, the batch's compressed frames are read into it and
    /// their CRC is checked.
    mutating func next(data: UnsafeMutablePointer<[UInt8]>?) throws -> ScanStep {
        if offset == fileSize { return .end }
        let at = offset
        guard fileSize - at >= 8 else { return .damaged(offset: at, reason: "\(fileSize - at) stray bytes at the end", firstSeq: nil, lastSeq: nil) }
        let frameHead = try handle.readBytes(count: 8, at: at)
        let magic = frameHead.withUnsafeBytes { loadU32LE($0, 0) }
        let size = Int(frameHead.withUnsafeBytes { loadU32LE($0, 4) })
        guard magic == Format.batchFrameMagic else {
            return .damaged(offset: at, reason: "no batch header here (magic 0x\(String(magic, radix: 16)))", firstSeq: nil, lastSeq: nil)
        }
        guard size <= Format.batchHeaderBytesMax, UInt64(size) <= fileSize - at - 8 else {
            return .damaged(offset: at, reason: "batch header of \(size) bytes runs past the end of the segment", firstSeq: nil, lastSeq: nil)
        }
        let payload = try handle.readBytes(count: size, at: at + 8)
        let decoded: (BatchHeader, hash: [UInt8])
        do {
            decoded = try payload.withUnsafeBytes { try BatchHeader.decode(payload: $0) }
        } catch let e as LogError {
            return .damaged(offset: at, reason: e.message, firstSeq: nil, lastSeq: nil)
        }
        let header = decoded.0
        let batch = ScannedBatch(offset: at, headerBytes: 8 + size, header: header, hash: decoded.hash)
        guard batch.endOffset <= fileSize else {
            return .damaged(offset: at, reason: "batch data runs past the end of the segment (\(batch.endOffset - fileSize) bytes missing)",
                            firstSeq: header.firstSeq, lastSeq: header.lastSeq)
        }
        if let data {
            let bytes = try handle.readBytes(count: Int(header.dataBytes), at: batch.dataOffset)
            guard bytes.count == Int(header.dataBytes) else {
                return .damaged(offset: at, reason: "batch data is cut short", firstSeq: header.firstSeq, lastSeq: header.lastSeq)
            }
            guard crc32c(bytes) == header.dataCRC else {
                return .damaged(offset: at, reason: "batch data checksum mismatch", firstSeq: header.firstSeq, lastSeq: header.lastSeq)
            }
            data.pointee = bytes
        }
        offset = batch.endOffset
        return .batch(batch)
    }

    /// Whether the damage at `at` is the next batch cut short: the file ends inside a batch whose
    /// bytes, as far as they go, are what the writer writes there (its frame magic; a header that
    /// continues the log's seqs and hash chain, or the start of one). A crash before `fdatasync`
    /// leaves exactly that, and such a batch was never acknowledged. A batch that is all there but
    /// fails a checksum, or bytes that are no batch at all, are damage wherever they sit.
    func isCutShort(at: UInt64, expectSeq: UInt64, prevHash: [UInt8]) throws -> Bool {
        guard at <= fileSize else { return false }
        let remaining = fileSize - at
        let head = try handle.readBytes(count: Int(min(remaining, 8)), at: at)
        var magic = ByteWriter(capacity: 4)
        magic.u32(Format.batchFrameMagic)
        guard head.count == Int(min(remaining, 8)), Array(head.prefix(4)) == Array(magic.bytes.prefix(head.count)) else { return false }
        guard remaining >= 8 else { return true }
        let size = Int(head.withUnsafeBytes { loadU32LE($0, 4) })
        guard size >= Format.batchFixedBytes + 4, size <= Format.batchHeaderBytesMax else { return false }
        if UInt64(size) > remaining - 8 {
            let prefix = try handle.readBytes(count: Int(remaining - 8), at: at + 8)
            return BatchHeader.prefixIsConsistent(prefix, payloadBytes: size, firstSeq: expectSeq, prevHash: prevHash)
        }
        let payload = try handle.readBytes(count: size, at: at + 8)
        guard let header = try? payload.withUnsafeBytes({ try BatchHeader.decode(payload: $0) }).0 else { return false }
        return header.firstSeq == expectSeq && header.prevHash == prevHash && header.dataBytes > remaining - 8 - UInt64(size)
    }

    /// Whether an intact batch header starts anywhere after `from`: tells damage in the middle
    /// of a segment (intact batches follow) from a torn tail (nothing intact follows).
    func intactBatchExists(after from: UInt64) throws -> UInt64? {
        var pos = from + 1
        let chunk = 1 << 20
        while pos + 8 <= fileSize {
            let n = Int(min(UInt64(chunk + 3), fileSize - pos))
            let bytes = try handle.readBytes(count: n, at: pos)
            if bytes.count < 4 { return nil }
            var i = 0
            while i + 4 <= bytes.count {
                if bytes[i] == 0x51, bytes[i + 1] == 0x2A, bytes[i + 2] == 0x4D, bytes[i + 3] == 0x18 {
                    var probe = SegmentScanner(handle: handle, fileSize: fileSize, offset: pos + UInt64(i))
                    var data: [UInt8] = []
                    if case .batch = try probe.next(data: &data) { return pos + UInt64(i) }
                }
                i += 1
            }
            pos += UInt64(max(1, bytes.count - 3))
        }
        return nil
    }
}
