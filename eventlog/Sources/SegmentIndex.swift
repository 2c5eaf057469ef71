/// The derived index of one segment (`index/<firstSeq>.idx`): its batches by seq, which batches
/// hold each event type, each org's frames (so one org's history is read without touching the
/// others'), event-id hashes for de-duplication and the last version of each stream.
///
/// It covers the segment up to `coveredBytes`; whatever lies beyond (the active segment's newest
/// batches) is found by scanning batch headers. Deleting it is always safe: it is rebuilt from
/// the segment. Sections are read on demand, each with its own CRC, so a reader of one org
/// touches the fixed header, the org directory and that org's section only.
struct IndexBatch: Equatable {
    var firstSeq: UInt64
    var eventCount: UInt32
    var offset: UInt64
    var totalBytes: UInt32
    var minTs: Int64
    var maxTs: Int64
    static let bytes = 40
}

struct IndexFrame: Equatable {
    var firstSeq: UInt64
    var eventCount: UInt32
    var fileOffset: UInt64
    var compressedBytes: UInt32
    var rawBytes: UInt32
    static let bytes = 28
}

struct IndexOrgEvent: Equatable {
    var type: UInt16
    var stream: UInt32
    var streamVersion: UInt32
    static let bytes = 10
}

/// One org's part of a segment index.
struct IndexOrgSection {
    var streams: [String]
    var frames: [IndexFrame]
    var events: [IndexOrgEvent]
}

/// Accumulates a segment's index as batches are written or scanned.
final class SegmentIndexBuilder {
    let segmentFirstSeq: UInt64
    var coveredBytes: UInt64
    var nextSeq: UInt64
    var lastHash: [UInt8]
    var eventCount: UInt64 = 0
    var rawBytes: UInt64 = 0
    var compressedBytes: UInt64 = 0
    var batches: [IndexBatch] = []
    var types: [String] = []
    var typeIDs: [String: UInt16] = [:]
    var typeBatches: [[UInt32]] = []
    final class Org {
        var streams: [String] = []
        var streamIDs: [String: UInt32] = [:]
        var frames: [IndexFrame] = []
        var events: [IndexOrgEvent] = []
    }
    var orgs: [String: Org] = [:]
    var ids: [(hash: UInt64, seq: UInt64)] = []
    /// Last version of each stream touched in this segment, keyed by `StreamKey` (derived from
    /// the org sections when asked for, so appends do not pay for it per event).
    var streamVersions: [StreamID: UInt32] {
        var out: [StreamID: UInt32] = Dictionary(minimumCapacity: orgs.values.reduce(0) { $0 + $1.streams.count })
        for (orgName, org) in orgs {
            var last = [UInt32](repeating: 0, count: org.streams.count)
            for e in org.events { last[Int(e.stream)] = max(last[Int(e.stream)], e.streamVersion) }
            for (i, name) in org.streams.enumerated() { out[StreamID(org: orgName, stream: name)] = last[i] }
        }
        return out
    }

    init(segmentFirstSeq: UInt64, coveredBytes: UInt64, prevHash: [UInt8]) {
        self.segmentFirstSeq = segmentFirstSeq
        self.coveredBytes = coveredBytes
        self.nextSeq = segmentFirstSeq
        self.lastHash = prevHash
    }

    /// Continues a segment's index from its index file, so reopening a cleanly closed log does
    /// not rescan (and decompress) its active segment.
    convenience init(loading file: SegmentIndexFile) throws {
        self.init(segmentFirstSeq: file.segmentFirstSeq, coveredBytes: file.coveredBytes, prevHash: file.lastHash)
        nextSeq = file.nextSeq
        lastHash = file.lastHash
        eventCount = file.eventCount
        rawBytes = file.rawBytes
        compressedBytes = file.compressedBytes
        batches = try file.batches()
        for (i, t) in try file.types().enumerated() {
            types.append(t.name)
            typeIDs[t.name] = UInt16(i)
            typeBatches.append(t.batches)
        }
        for entry in try file.orgDirectory() {
            let section = try file.orgSection(entry)
            let org = Org()
            org.streams = section.streams
            for (i, name) in section.streams.enumerated() { org.streamIDs[name] = UInt32(i) }
            org.frames = section.frames
            org.events = section.events
            orgs[entry.name] = org
        }
        ids = try file.ids()
    }

    /// Adds a batch; `idHashes` holds one entry per event, in seq order.
    func add(_ batch: ScannedBatch, idHashes: [UInt64]) {
        let h = batch.header
        precondition(idHashes.count == h.events.count)
        // Per batch string: its builder-side ids, so each distinct string is hashed once per batch.
        // (frame, id): a stream name is per org, and one batch may use it in several orgs' frames.
        var localStream = [(frame: Int, id: UInt32)?](repeating: nil, count: h.strings.count)
        let batchIndex = UInt32(batches.count)
        batches.append(IndexBatch(firstSeq: h.firstSeq, eventCount: UInt32(h.events.count), offset: batch.offset,
                                  totalBytes: UInt32(batch.totalBytes), minTs: h.minTs, maxTs: h.maxTs))
        var localType = [UInt16: UInt16]()
        var seenTypes = Set<UInt16>()
        var seq = h.firstSeq
        var eventIndex = 0
        var frameOffset = batch.dataOffset
        for (frameIndex, f) in h.frames.enumerated() {
            let orgName = h.strings[Int(f.org)]
            let org: Org
            if let o = orgs[orgName] { org = o } else { org = Org(); orgs[orgName] = org }
            org.frames.append(IndexFrame(firstSeq: seq, eventCount: f.eventCount, fileOffset: frameOffset,
                                         compressedBytes: f.compressedBytes, rawBytes: f.rawBytes))
            for _ in 0..<Int(f.eventCount) {
                let e = h.events[eventIndex]
                let t: UInt16
                if let known = localType[e.type] { t = known } else {
                    let name = h.strings[Int(e.type)]
                    if let g = typeIDs[name] { t = g } else {
                        t = UInt16(types.count)
                        typeIDs[name] = t
                        types.append(name)
                        typeBatches.append([])
                    }
                    localType[e.type] = t
                }
                if seenTypes.insert(t).inserted { typeBatches[Int(t)].append(batchIndex) }
                let s: UInt32
                if let known = localStream[Int(e.stream)], known.frame == frameIndex { s = known.id } else {
                    let streamName = h.strings[Int(e.stream)]
                    if let known = org.streamIDs[streamName] { s = known } else {
                        s = UInt32(org.streams.count)
                        org.streamIDs[streamName] = s
                        org.streams.append(streamName)
                    }
                    localStream[Int(e.stream)] = (frameIndex, s)
                }
                org.events.append(IndexOrgEvent(type: t, stream: s, streamVersion: e.streamVersion))
                ids.append((idHashes[eventIndex], seq))
                seq += 1
                eventIndex += 1
            }
            frameOffset += UInt64(f.compressedBytes)
            rawBytes += UInt64(f.rawBytes)
        }
        compressedBytes += h.dataBytes
        eventCount += UInt64(h.events.count)
        nextSeq = h.lastSeq + 1
        lastHash = batch.hash
        coveredBytes = batch.endOffset
    }

    func serialize() -> [UInt8] {
        func section(_ body: (inout ByteWriter) -> Void) -> [UInt8] {
            var w = ByteWriter(capacity: 1024)
            body(&w)
            w.u32(crc32c(w.bytes))
            return w.bytes
        }
        let batchSection = section { w in
            for b in batches {
                w.u64(b.firstSeq); w.u32(b.eventCount); w.u64(b.offset); w.u32(b.totalBytes); w.i64(b.minTs); w.i64(b.maxTs)
            }
        }
        let typeSection = section { w in
            w.u32(UInt32(types.count))
            for (i, t) in types.enumerated() {
                w.string(t)
                w.u32(UInt32(typeBatches[i].count))
                for b in typeBatches[i] { w.u32(b) }
            }
        }
        let orgNames = orgs.keys.sorted()
        let orgSections: [[UInt8]] = orgNames.map { name in
            let o = orgs[name]!
            return section { w in
                w.u32(UInt32(o.frames.count))
                w.u32(UInt32(o.streams.count))
                w.u32(UInt32(o.events.count))
                for s in o.streams { w.string(s) }
                for f in o.frames {
                    w.u64(f.firstSeq); w.u32(f.eventCount); w.u64(f.fileOffset); w.u32(f.compressedBytes); w.u32(f.rawBytes)
                }
                for e in o.events { w.u16(e.type); w.u32(e.stream); w.u32(e.streamVersion) }
            }
        }
        let sortedIDs = ids.sorted { $0.hash < $1.hash || ($0.hash == $1.hash && $0.seq < $1.seq) }
        let idSection = section { w in
            w.u32(UInt32(sortedIDs.count))
            for e in sortedIDs { w.u64(e.hash); w.u64(e.seq) }
        }
        let versions = streamVersions
        let streamSection = section { w in
            w.u32(UInt32(versions.count))
            for (k, v) in versions { w.string(k.stored); w.u32(v) }
        }
        // Layout: fixed header, batches, types, org directory, org sections, ids, streams.
        let fixedBytes = SegmentIndexFile.fixedBytes
        var offset = UInt64(fixedBytes)
        let batchOff = offset; offset += UInt64(batchSection.count)
        let typeOff = offset; offset += UInt64(typeSection.count)
        // The directory's size does not depend on the offsets it holds (fixed-width), so size it first.
        var dirSize = 4 + 4
        for name in orgNames { dirSize += 2 + name.utf8.count + 8 + 4 + 8 }
        let dirOff = offset; offset += UInt64(dirSize)
        var orgOffsets: [UInt64] = []
        for s in orgSections { orgOffsets.append(offset); offset += UInt64(s.count) }
        let idOff = offset; offset += UInt64(idSection.count)
        let streamOff = offset; offset += UInt64(streamSection.count)
        let dirSection = section { w in
            w.u32(UInt32(orgNames.count))
            for (i, name) in orgNames.enumerated() {
                w.string(name); w.u64(orgOffsets[i]); w.u32(UInt32(orgSections[i].count)); w.u64(UInt64(orgs[name]!.events.count))
            }
        }
        precondition(dirSection.count == dirSize)

        var w = ByteWriter(capacity: Int(offset))
        w.u32(Format.indexMagic)
        w.u16(Format.version)
        w.u16(0)
        w.u64(segmentFirstSeq)
        w.u64(coveredBytes)
        w.u64(nextSeq)
        w.u64(eventCount)
        w.u64(rawBytes)
        w.u64(compressedBytes)
        w.u32(UInt32(batches.count))
        w.raw(lastHash)
        for (o, l) in [(batchOff, batchSection.count), (typeOff, typeSection.count), (dirOff, dirSection.count),
                       (idOff, idSection.count), (streamOff, streamSection.count)] {
            w.u64(o); w.u64(UInt64(l))
        }
        w.u32(crc32c(w.bytes))
        precondition(w.bytes.count == fixedBytes)
        w.raw(batchSection)
        w.raw(typeSection)
        w.raw(dirSection)
        for s in orgSections { w.raw(s) }
        w.raw(idSection)
        w.raw(streamSection)
        return w.bytes
    }
}

/// A segment index read from disk, section by section.
final class SegmentIndexFile {
    static let fixedBytes = 4 + 2 + 2 + 8 * 6 + 4 + 32 + 5 * 16 + 4

    let handle: any FileHandle
    let segmentFirstSeq: UInt64
    let coveredBytes: UInt64
    let nextSeq: UInt64
    let eventCount: UInt64
    let rawBytes: UInt64
    let compressedBytes: UInt64
    let batchCount: Int
    let lastHash: [UInt8]
    private let sections: [(offset: UInt64, length: UInt64)]

    init(handle: any FileHandle) throws {
        self.handle = handle
        let fixed = try handle.readBytes(count: Self.fixedBytes, at: 0)
        guard fixed.count == Self.fixedBytes else { throw LogError(.corrupt, "index file is cut short") }
        let ok = fixed.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[0..<(Self.fixedBytes - 4)])) == loadU32LE($0, Self.fixedBytes - 4) }
        guard ok else { throw LogError(.corrupt, "index header checksum mismatch") }
        var parsed: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, Int, [UInt8], [(UInt64, UInt64)]) = (0, 0, 0, 0, 0, 0, 0, [], [])
        try fixed.withUnsafeBytes { b in
            var r = ByteReader(b)
            guard try r.u32() == Format.indexMagic else { throw LogError(.corrupt, "not a segment index") }
            guard try r.u16() == Format.version else { throw LogError(.format, "unknown index version") }
            _ = try r.u16()
            parsed.0 = try r.u64(); parsed.1 = try r.u64(); parsed.2 = try r.u64()
            parsed.3 = try r.u64(); parsed.4 = try r.u64(); parsed.5 = try r.u64()
            parsed.6 = Int(try r.u32())
            parsed.7 = try r.raw(32)
            for _ in 0..<5 { parsed.8.append((try r.u64(), try r.u64())) }
        }
        (segmentFirstSeq, coveredBytes, nextSeq, eventCount, rawBytes, compressedBytes) = (parsed.0, parsed.1, parsed.2, parsed.3, parsed.4, parsed.5)
        batchCount = parsed.6
        lastHash = parsed.7
        sections = parsed.8.map { (offset: $0.0, length: $0.1) }
        let size = try handle.size()
        for s in sections where s.offset + s.length > size || s.length < 4 {
            throw LogError(.corrupt, "index section runs past the end of the file")
        }
    }

    deinit { handle.close() }

    private func readSection(offset: UInt64, length: UInt64) throws -> [UInt8] {
        let bytes = try handle.readBytes(count: Int(length), at: offset)
        guard bytes.count == Int(length), length >= 4 else { throw LogError(.corrupt, "index section is cut short") }
        let ok = bytes.withUnsafeBytes { crc32c(UnsafeRawBufferPointer(rebasing: $0[0..<(Int(length) - 4)])) == loadU32LE($0, Int(length) - 4) }
        guard ok else { throw LogError(.corrupt, "index section checksum mismatch") }
        return Array(bytes[0..<(Int(length) - 4)])
    }

    func batches() throws -> [IndexBatch] {
        let s = sections[0]
        let bytes = try readSection(offset: s.offset, length: s.length)
        guard bytes.count == batchCount * IndexBatch.bytes else { throw LogError(.corrupt, "index batch table has the wrong size") }
        return try bytes.withUnsafeBytes { b in
            var r = ByteReader(b)
            var out: [IndexBatch] = []
            out.reserveCapacity(batchCount)
            for _ in 0..<batchCount {
                out.append(IndexBatch(firstSeq: try r.u64(), eventCount: try r.u32(), offset: try r.u64(),
                                      totalBytes: try r.u32(), minTs: try r.i64(), maxTs: try r.i64()))
            }
            return out
        }
    }

    /// Event types and the indexes (into `batches()`) of the batches holding each.
    func types() throws -> [(name: String, batches: [UInt32])] {
        let s = sections[1]
        let bytes = try readSection(offset: s.offset, length: s.length)
        return try bytes.withUnsafeBytes { b in
            var r = ByteReader(b)
            var out: [(name: String, batches: [UInt32])] = []
            let n = Int(try r.u32())
            for _ in 0..<n {
                let name = try r.string()
                let count = Int(try r.u32())
                try r.need(count * 4)
                var list: [UInt32] = []
                list.reserveCapacity(count)
                for _ in 0..<count { list.append(try r.u32()) }
                out.append((name, list))
            }
            return out
        }
    }

    struct OrgEntry {
        var name: String
        var offset: UInt64
        var length: UInt32
        var eventCount: UInt64
    }

    func orgDirectory() throws -> [OrgEntry] {
        let s = sections[2]
        let bytes = try readSection(offset: s.offset, length: s.length)
        return try bytes.withUnsafeBytes { b in
            var r = ByteReader(b)
            let n = Int(try r.u32())
            var out: [OrgEntry] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                out.append(OrgEntry(name: try r.string(), offset: try r.u64(), length: try r.u32(), eventCount: try r.u64()))
            }
            return out
        }
    }

    func orgSection(_ entry: OrgEntry) throws -> IndexOrgSection {
        let bytes = try readSection(offset: entry.offset, length: UInt64(entry.length))
        return try bytes.withUnsafeBytes { b in
            var r = ByteReader(b)
            let frameCount = Int(try r.u32())
            let streamCount = Int(try r.u32())
            let eventCount = Int(try r.u32())
            var streams: [String] = []
            streams.reserveCapacity(streamCount)
            for _ in 0..<streamCount { streams.append(try r.string()) }
            var frames: [IndexFrame] = []
            frames.reserveCapacity(frameCount)
            for _ in 0..<frameCount {
                frames.append(IndexFrame(firstSeq: try r.u64(), eventCount: try r.u32(), fileOffset: try r.u64(),
                                         compressedBytes: try r.u32(), rawBytes: try r.u32()))
            }
            var events: [IndexOrgEvent] = []
            events.reserveCapacity(eventCount)
            for _ in 0..<eventCount {
                let e = IndexOrgEvent(type: try r.u16(), stream: try r.u32(), streamVersion: try r.u32())
                guard Int(e.stream) < streamCount else { throw LogError(.corrupt, "index org section is inconsistent") }
                events.append(e)
            }
            guard frames.reduce(0, { $0 + Int($1.eventCount) }) == eventCount else {
                throw LogError(.corrupt, "index org section does not add up")
            }
            return IndexOrgSection(streams: streams, frames: frames, events: events)
        }
    }

    /// Event-id hashes and their seqs, sorted by hash.
    func ids() throws -> [(hash: UInt64, seq: UInt64)] {
        let s = sections[3]
        let bytes = try readSection(offset: s.offset, length: s.length)
        return try bytes.withUnsafeBytes { b in
            var r = ByteReader(b)
            let n = Int(try r.u32())
            try r.need(n * 16)
            var out: [(hash: UInt64, seq: UInt64)] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append((try r.u64(), try r.u64())) }
            return out
        }
    }

    func streams() throws -> [String: UInt32] {
        let s = sections[4]
        let bytes = try readSection(offset: s.offset, length: s.length)
        return try bytes.withUnsafeBytes { b in
            var r = ByteReader(b)
            let n = Int(try r.u32())
            var out: [String: UInt32] = [:]
            out.reserveCapacity(n)
            for _ in 0..<n {
                let k = try r.string()
                out[k] = try r.u32()
            }
            return out
        }
    }
}
