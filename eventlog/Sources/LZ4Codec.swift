import CLZ4

/// LZ4 frames, as the stock `lz4` tool reads them.
///
/// Writing goes through liblz4's frame API (optionally with a prepared dictionary, which is what
/// makes the log's small per-org frames compress well). Reading parses the frame header itself
/// and decodes blocks with the block API: no per-frame context setup, which matters when a
/// replay decodes hundreds of thousands of small frames a second.
final class LZ4Compressor {
    private var cctx: OpaquePointer?
    private var cdict: OpaquePointer?
    let dictID: UInt32

    init(dictionary: [UInt8]?, dictID: UInt32) throws {
        var ctx: OpaquePointer?
        let r = LZ4F_createCompressionContext(&ctx, UInt32(LZ4F_VERSION))
        if LZ4F_isError(r) != 0 || ctx == nil { throw LogError(.io, "could not create an LZ4 compression context") }
        cctx = ctx
        self.dictID = dictionary == nil ? 0 : dictID
        if let dictionary {
            cdict = dictionary.withUnsafeBytes { LZ4F_createCDict($0.baseAddress, $0.count) }
            if cdict == nil { throw LogError(.io, "could not load the LZ4 dictionary") }
        }
    }

    deinit {
        LZ4F_freeCompressionContext(cctx)
        if let cdict { LZ4F_freeCDict(cdict) }
    }

    /// Compresses `src` into one frame appended to `out`; returns the frame's size.
    func compressFrame(_ src: UnsafeRawBufferPointer, into out: inout [UInt8]) throws -> Int {
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.blockSizeID = LZ4F_max4MB
        prefs.frameInfo.blockMode = LZ4F_blockIndependent
        prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        prefs.frameInfo.contentSize = UInt64(src.count)
        prefs.frameInfo.dictID = dictID
        prefs.compressionLevel = 0
        let bound = LZ4F_compressFrameBound(src.count, &prefs)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBytes { dst in
            LZ4F_compressFrame_usingCDict(cctx, dst.baseAddress! + start, bound, src.baseAddress, src.count, cdict, &prefs)
        }
        if LZ4F_isError(written) != 0 {
            out.removeSubrange(start...)
            throw LogError(.io, "LZ4 compression failed: \(String(cString: LZ4F_getErrorName(written)))")
        }
        out.removeSubrange((start + written)...)
        return written
    }
}

/// Decodes LZ4 frames written with independent blocks (with or without a dictionary).
struct LZ4FrameDecoder {
    static let frameMagic: UInt32 = 0x184D_2204
    let dictionary: [UInt8]

    /// Decodes one frame from `src` (exactly one frame, nothing after it) into `out`, which is
    /// cleared first. Throws on anything that is not a well-formed frame of the expected size.
    func decode(_ src: UnsafeRawBufferPointer, expectedSize: Int, into out: inout [UInt8]) throws {
        func bad(_ why: String) -> LogError { LogError(.corrupt, "LZ4 frame: \(why)") }
        guard src.count >= 7, loadU32LE(src, 0) == Self.frameMagic else { throw bad("bad magic number") }
        let flg = src[4]
        guard flg >> 6 == 1 else { throw bad("unsupported version") }
        guard flg & 0x20 != 0 else { throw bad("linked blocks are not used by this log") }
        let blockChecksum = flg & 0x10 != 0
        let hasContentSize = flg & 0x08 != 0
        let contentChecksum = flg & 0x04 != 0
        let hasDictID = flg & 0x01 != 0
        var pos = 6
        if hasContentSize {
            guard src.count >= pos + 8 else { throw bad("truncated header") }
            let size = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
            guard size == UInt64(expectedSize) else { throw bad("content size \(size) differs from the expected \(expectedSize)") }
            pos += 8
        }
        if hasDictID { pos += 4 }
        pos += 1 // header checksum; the batch CRC covers these bytes
        guard expectedSize <= 1 << 26 else { throw bad("frame too large") }
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(expectedSize)
        var produced = 0
        // Room for the whole expected content; a frame that decodes to more is rejected below.
        if out.capacity < expectedSize { out.reserveCapacity(expectedSize) }
        out.append(contentsOf: repeatElement(0, count: expectedSize))
        try out.withUnsafeMutableBytes { dst in
            try dictionary.withUnsafeBytes { dict in
                while true {
                    guard src.count >= pos + 4 else { throw bad("truncated block header") }
                    let word = loadU32LE(src, pos)
                    pos += 4
                    if word == 0 { break }
                    let size = Int(word & 0x7FFF_FFFF)
                    guard src.count >= pos + size else { throw bad("truncated block") }
                    if word & 0x8000_0000 != 0 {
                        guard produced + size <= expectedSize else { throw bad("more content than expected") }
                        (dst.baseAddress! + produced).copyMemory(from: src.baseAddress! + pos, byteCount: size)
                        produced += size
                    } else {
                        let n = src.baseAddress!.advanced(by: pos).withMemoryRebound(to: CChar.self, capacity: size) { s in
                            (dst.baseAddress! + produced).withMemoryRebound(to: CChar.self, capacity: expectedSize - produced) { d in
                                dict.count > 0
                                    ? LZ4_decompress_safe_usingDict(s, d, Int32(size), Int32(expectedSize - produced),
                                                                     dict.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(dict.count))
                                    : LZ4_decompress_safe(s, d, Int32(size), Int32(expectedSize - produced))
                            }
                        }
                        guard n >= 0 else { throw bad("corrupt block") }
                        produced += Int(n)
                    }
                    pos += size
                    if blockChecksum { pos += 4 }
                }
            }
        }
        if contentChecksum { pos += 4 }
        guard pos == src.count else { throw bad("\(src.count - pos) unexpected bytes after the frame") }
        guard produced == expectedSize else { throw bad("decoded \(produced) bytes, expected \(expectedSize)") }
    }
}
