/// Decompresses a batch's frames and hands out its event lines, checking that each line sits
/// where the header says and carries the seq it should.
struct BatchDecoder {
    let frames: LZ4FrameDecoder
    private var raw: [UInt8] = []

    init(dictionary: [UInt8]) {
        frames = LZ4FrameDecoder(dictionary: dictionary)
    }

    /// Calls `body` for each event of the frames `wanted` selects, in seq order. `body` returns
    /// false to stop. Returns false when stopped early.
    @discardableResult
    mutating func forEachEvent(_ batch: ScannedBatch, data: UnsafeRawBufferPointer, wanted: (Int) -> Bool,
                               _ body: (_ seq: UInt64, _ eventIndex: Int, _ line: UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        let h = batch.header
        var dataOffset = 0
        var eventIndex = 0
        var seq = h.firstSeq
        for (fi, f) in h.frames.enumerated() {
            let clen = Int(f.compressedBytes)
            defer {
                dataOffset += clen
            }
            guard wanted(fi) else {
                eventIndex += Int(f.eventCount)
                seq += UInt64(f.eventCount)
                continue
            }
            let src = UnsafeRawBufferPointer(rebasing: data[dataOffset..<(dataOffset + clen)])
            try frames.decode(src, expectedSize: Int(f.rawBytes), into: &raw)
            let keepGoing = try raw.withUnsafeBytes { r -> Bool in
                var pos = 0
                for _ in 0..<Int(f.eventCount) {
                    let len = Int(h.events[eventIndex].rawBytes)
                    guard pos + len < r.count, r[pos + len] == 10 else {
                        throw LogError(.corrupt, "event \(seq) does not end where the batch header says")
                    }
                    let line = UnsafeRawBufferPointer(rebasing: r[pos..<(pos + len)])
                    guard storedSeq(line) == seq else { throw LogError(.corrupt, "event at seq \(seq) carries another seq") }
                    if try !body(seq, eventIndex, line) { return false }
                    pos += len + 1
                    eventIndex += 1
                    seq += 1
                }
                guard pos == r.count else { throw LogError(.corrupt, "frame has bytes after its last event") }
                return true
            }
            if !keepGoing { return false }
        }
        return true
    }

    /// Decodes one frame found through the index and calls `body` per line (split on newlines,
    /// which JSON Lines guarantees never occur inside an event).
    @discardableResult
    mutating func forEachLine(frame src: UnsafeRawBufferPointer, rawBytes: Int, firstSeq: UInt64, eventCount: Int,
                              _ body: (_ seq: UInt64, _ index: Int, _ line: UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        try frames.decode(src, expectedSize: rawBytes, into: &raw)
        return try raw.withUnsafeBytes { r -> Bool in
            var pos = 0
            var seq = firstSeq
            for i in 0..<eventCount {
                guard let nl = UnsafeRawBufferPointer(rebasing: r[pos...]).firstIndex(of: 10) else {
                    throw LogError(.corrupt, "frame for seq \(firstSeq) holds fewer events than indexed")
                }
                let line = UnsafeRawBufferPointer(rebasing: r[pos..<(pos + nl)])
                guard storedSeq(line) == seq else { throw LogError(.corrupt, "event at seq \(seq) carries another seq") }
                if try !body(seq, i, line) { return false }
                pos += nl + 1
                seq += 1
            }
            guard pos == r.count else { throw LogError(.corrupt, "frame for seq \(firstSeq) holds more events than indexed") }
            return true
        }
    }
}
