import Foundation
import PurserCore
/// Reads a log: any number of readers, in this process or others, beside its one writer.
///
/// Reads stream: one batch (or one org frame) is held at a time, so memory stays bounded
/// however long the log. Reading one org goes through the segment indexes straight to that
/// org's frames, so it costs in proportion to the org's events, not the log's.
public final class LogReader: Sendable {
    public struct Filter: Sendable {
        public var org: String?
        /// Only event types that start with this (e.g. `message.` or `tool.executed`).
        public var typePrefix: String?
        public var fromSeq: UInt64
        public var untilSeq: UInt64

        public init(org: String? = nil, typePrefix: String? = nil, fromSeq: UInt64 = 1, untilSeq: UInt64 = .max) {
            self.org = org
            self.typePrefix = typePrefix
            self.fromSeq = max(1, fromSeq)
            self.untilSeq = untilSeq
        }

        func typeMatches(_ t: String) -> Bool { typePrefix.map { t.hasPrefix($0) } ?? true }
    }

    public let directory: String
    let paths: LogPaths
    let fs: any FileSystem
    private let dictionaryCache = DictionaryCache()

    public init(directory: String, fileSystem: any FileSystem = PosixFileSystem()) {
        self.directory = directory
        self.paths = LogPaths(dir: directory)
        self.fs = fileSystem
    }

    /// The log's dictionary, read once: it never changes after the log is created, and a
    /// follower polling every few milliseconds should not re-read it each time.
    func dictionary() throws -> LoadedDictionary? {
        if let d = dictionaryCache.value { return d }
        let d = try paths.loadDictionary(fs)
        dictionaryCache.value = d
        return d
    }

    /// Whether a log exists in the directory.
    public var exists: Bool { fs.exists(paths.segments) }

    /// Figures a reader gets without decompressing anything, per segment from its index (or by
    /// scanning batch headers where the index does not reach).
    public struct Counters: Sendable {
        public var bytesDecompressed: UInt64 = 0
        public var framesDecoded: UInt64 = 0
        public init() {}
    }

    /// Calls `body` for each event matching `filter`, in seq order; `body` returns false to stop.
    /// Returns the seq after the last event examined (where a follower resumes).
    @discardableResult
    public func scan(_ filter: Filter, counters: UnsafeMutablePointer<Counters>? = nil,
                     _ body: (EventRecord) throws -> Bool) throws -> UInt64 {
        let segments = try paths.listSegments(fs)
        guard !segments.isEmpty else { return filter.fromSeq }
        let dict = try dictionary()
        var decoder = BatchDecoder(dictionary: dict?.bytes ?? [])
        var resume = filter.fromSeq
        for (i, first) in segments.enumerated() {
            if i + 1 < segments.count && segments[i + 1] <= filter.fromSeq { continue }
            if first > filter.untilSeq { break }
            let seg = try SegmentReader(fs: fs, paths: paths, firstSeq: first, isLast: i == segments.count - 1, dictID: dict?.id ?? 0)
            defer { seg.close() }
            let (keepGoing, next) = try seg.scan(filter, decoder: &decoder, counters: counters, body)
            resume = max(resume, next)
            if !keepGoing { return resume }
        }
        return resume
    }

    /// Collects matching events as owned JSON lines (for tests and small reads).
    public func events(_ filter: Filter = Filter()) throws -> [(seq: UInt64, json: [UInt8])] {
        var out: [(seq: UInt64, json: [UInt8])] = []
        try scan(filter) { r in
            out.append((r.seq, r.jsonBytes))
            return true
        }
        return out
    }

    /// Follows the log: delivers matching events from `filter.fromSeq` on, then waits for new
    /// ones, until the task is cancelled. Meant for projectors and live views.
    public func follow(_ filter: Filter, pollInterval: Duration = .milliseconds(50),
                       _ body: (EventRecord) throws -> Void) async throws {
        var f = filter
        while !Task.isCancelled {
            let next = try scan(f) { r in
                try body(r)
                return true
            }
            if next > f.fromSeq {
                f.fromSeq = next
            } else {
                try await Task.sleep(for: pollInterval)
            }
        }
    }
}

/// One segment opened for reading.
final class SegmentReader {
    let name: String
    let handle: any FileHandle
    let size: UInt64
    let header: SegmentHeader
    let index: SegmentIndexFile?
    let isLast: Bool

    init(fs: any FileSystem, paths: LogPaths, firstSeq: UInt64, isLast: Bool, dictID: UInt32) throws {
        name = Format.segmentName(firstSeq)
        handle = try fs.open(paths.segment(firstSeq), mode: .readOnly)
        size = try handle.size()
        self.isLast = isLast
        let hb = try handle.readBytes(count: Format.segmentHeaderBytes, at: 0)
        do {
            header = try hb.withUnsafeBytes { try SegmentHeader.decode($0) }
        } catch let e as LogError {
            handle.close()
            throw LogError(.corrupt, "segment \(name): \(e.message)")
        }
        guard header.dictID == dictID else {
            handle.close()
            throw LogError(.corrupt, "segment \(name) was compressed with dictionary \(header.dictID), but the log's lz4.dict is \(dictID); restore the log's original lz4.dict")
        }
        var idx: SegmentIndexFile? = nil
        if fs.exists(paths.indexFile(firstSeq)), let h = try? fs.open(paths.indexFile(firstSeq), mode: .readOnly),
           let i = try? SegmentIndexFile(handle: h), i.segmentFirstSeq == firstSeq, i.coveredBytes <= size,
           isLast || i.coveredBytes == size {
            idx = i
        }
        index = idx
    }

    func close() { handle.close() }

    private func damage(_ offset: UInt64, _ reason: String, _ first: UInt64?, _ last: UInt64?) -> LogError {
        let range = first.map { " (seq \($0)–\(last ?? $0))" } ?? ""
        return LogError(.corruptMiddle, "segment \(name) is damaged at offset \(offset)\(range): \(reason); run `purser log verify`")
    }

    /// Scans batches from `offset` sequentially, calling `each` with the batch and its data.
    /// Stops quietly at a torn or in-flight tail of the last segment.
    private func walk(from offset: UInt64, _ each: (ScannedBatch, UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        var scanner = SegmentScanner(handle: handle, fileSize: size, offset: offset)
        var data: [UInt8] = []
        while true {
            switch try scanner.next(data: &data) {
            case .end: return true
            case .batch(let b):
                if try !data.withUnsafeBytes({ try each(b, $0) }) { return false }
            case let .damaged(at, reason, first, last):
                if isLast, try scanner.intactBatchExists(after: at) == nil { return true }
                throw damage(at, reason, first, last)
            }
        }
    }

    /// Headers only, from `offset`: for locating one org's frames in the unindexed tail.
    private func walkHeaders(from offset: UInt64, _ each: (ScannedBatch) throws -> Bool) throws -> Bool {
        var scanner = SegmentScanner(handle: handle, fileSize: size, offset: offset)
        while true {
            switch try scanner.next(data: nil) {
            case .end: return true
            case .batch(let b): if try !each(b) { return false }
            case let .damaged(at, reason, first, last):
                if isLast, try scanner.intactBatchExists(after: at) == nil { return true }
                throw damage(at, reason, first, last)
            }
        }
    }

    func scan(_ filter: LogReader.Filter, decoder: inout BatchDecoder, counters: UnsafeMutablePointer<LogReader.Counters>?,
              _ body: (EventRecord) throws -> Bool) throws -> (Bool, UInt64) {
        var next = filter.fromSeq
        let tailStart = index?.coveredBytes ?? UInt64(Format.segmentHeaderBytes)

        func deliverBatch(_ b: ScannedBatch, _ data: UnsafeRawBufferPointer, decoder: inout BatchDecoder) throws -> Bool {
            let h = b.header
            if h.lastSeq < filter.fromSeq { return true }
            if h.firstSeq > filter.untilSeq { return false }
            var frameWanted = [Bool](repeating: true, count: h.frames.count)
            if let org = filter.org {
                for (i, f) in h.frames.enumerated() { frameWanted[i] = h.strings[Int(f.org)] == org }
            }
            if filter.typePrefix != nil {
                var idx = 0
                for (i, f) in h.frames.enumerated() {
                    var any = false
                    for k in idx..<(idx + Int(f.eventCount)) where filter.typeMatches(h.strings[Int(h.events[k].type)]) { any = true; break }
                    idx += Int(f.eventCount)
                    frameWanted[i] = frameWanted[i] && any
                }
            }
            // Seqs skipped over still count as examined.
            if h.lastSeq <= filter.untilSeq { next = max(next, h.lastSeq + 1) }
            if let counters {
                for (i, f) in h.frames.enumerated() where frameWanted[i] {
                    counters.pointee.bytesDecompressed += UInt64(f.rawBytes)
                    counters.pointee.framesDecoded += 1
                }
            }
            var orgOfEvent: [Int] = []
            orgOfEvent.reserveCapacity(h.events.count)
            for f in h.frames { for _ in 0..<Int(f.eventCount) { orgOfEvent.append(Int(f.org)) } }
            return try decoder.forEachEvent(b, data: data, wanted: { frameWanted[$0] }) { seq, ei, line in
                if seq < filter.fromSeq { return true }
                if seq > filter.untilSeq { return false }
                let meta = h.events[ei]
                let type = h.strings[Int(meta.type)]
                guard filter.typeMatches(type) else { return true }
                let rec = EventRecord(seq: seq, org: h.strings[orgOfEvent[ei]], type: type, stream: h.strings[Int(meta.stream)],
                                      streamVersion: meta.streamVersion, json: line)
                return try body(rec)
            }
        }

        // One org through the index: only that org's frames are read and decompressed.
        if let org = filter.org, let index {
            let dir = try index.orgDirectory()
            if let entry = dir.first(where: { $0.name == org }) {
                let section = try index.orgSection(entry)
                let types = try index.types().map(\.name)
                var eventBase = 0
                for f in section.frames {
                    defer { eventBase += Int(f.eventCount) }
                    let last = f.firstSeq + UInt64(f.eventCount) - 1
                    if last < filter.fromSeq { continue }
                    if f.firstSeq > filter.untilSeq { return (false, next) }
                    if filter.typePrefix != nil {
                        var any = false
                        for k in eventBase..<(eventBase + Int(f.eventCount)) where filter.typeMatches(types[Int(section.events[k].type)]) { any = true; break }
                        if !any { continue }
                    }
                    let compressed = try handle.readBytes(count: Int(f.compressedBytes), at: f.fileOffset)
                    guard compressed.count == Int(f.compressedBytes) else { throw damage(f.fileOffset, "frame is cut short", f.firstSeq, last) }
                    if let counters {
                        counters.pointee.bytesDecompressed += UInt64(f.rawBytes)
                        counters.pointee.framesDecoded += 1
                    }
                    var stop = false
                    do {
                        try compressed.withUnsafeBytes { src in
                            try decoder.forEachLine(frame: src, rawBytes: Int(f.rawBytes), firstSeq: f.firstSeq, eventCount: Int(f.eventCount)) { seq, i, line in
                                if seq < filter.fromSeq { return true }
                                if seq > filter.untilSeq { stop = true; return false }
                                let e = section.events[eventBase + i]
                                let type = types[Int(e.type)]
                                guard filter.typeMatches(type) else { return true }
                                let rec = EventRecord(seq: seq, org: org, type: type, stream: section.streams[Int(e.stream)],
                                                      streamVersion: e.streamVersion, json: line)
                                if try !body(rec) { stop = true; return false }
                                return true
                            }
                        }
                    } catch let e as LogError where e.code == .corrupt {
                        throw damage(f.fileOffset, e.message, f.firstSeq, last)
                    }
                    if stop { return (false, next) }
                }
            }
            next = max(next, min(index.nextSeq, filter.untilSeq == .max ? index.nextSeq : filter.untilSeq + 1))
            // The unindexed tail: read headers, then only this org's frames.
            let keepGoing = try walkHeaders(from: tailStart) { b in
                let h = b.header
                if h.lastSeq < filter.fromSeq { return true }
                if h.firstSeq > filter.untilSeq { return false }
                var frameOffset = b.dataOffset
                var dataStart = 0
                var wantedAny = false
                var wanted = [Bool](repeating: false, count: h.frames.count)
                for (i, f) in h.frames.enumerated() where h.strings[Int(f.org)] == org { wanted[i] = true; wantedAny = true }
                if !wantedAny {
                    if h.lastSeq <= filter.untilSeq { next = max(next, h.lastSeq + 1) }
                    return true
                }
                // Read just the span of the wanted frames and let the batch decoder skip the rest.
                var data = [UInt8](repeating: 0, count: Int(h.dataBytes))
                for (i, f) in h.frames.enumerated() {
                    if wanted[i] {
                        let bytes = try handle.readBytes(count: Int(f.compressedBytes), at: frameOffset)
                        data.replaceSubrange(dataStart..<(dataStart + bytes.count), with: bytes)
                    }
                    frameOffset += UInt64(f.compressedBytes)
                    dataStart += Int(f.compressedBytes)
                }
                return try data.withUnsafeBytes { try deliverBatch(b, $0, decoder: &decoder) }
            }
            return (keepGoing, next)
        }

        // Everything else walks batches in order, seeking through the index to `fromSeq`.
        var start = UInt64(Format.segmentHeaderBytes)
        var batchSubset: [IndexBatch]? = nil
        if let index {
            let batches = try index.batches()
            if filter.typePrefix != nil, filter.org == nil {
                let types = try index.types()
                var wanted = Set<UInt32>()
                for t in types where filter.typeMatches(t.name) { wanted.formUnion(t.batches) }
                batchSubset = wanted.sorted().map { batches[Int($0)] }
            } else {
                // Binary search for the batch holding fromSeq.
                var lo = 0, hi = batches.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if batches[mid].firstSeq + UInt64(batches[mid].eventCount) <= filter.fromSeq { lo = mid + 1 } else { hi = mid }
                }
                start = lo < batches.count ? batches[lo].offset : tailStart
                if lo > 0 { next = max(next, batches[lo - 1].firstSeq + UInt64(batches[lo - 1].eventCount)) }
            }
        }
        if let subset = batchSubset, let index {
            for ib in subset {
                if ib.firstSeq + UInt64(ib.eventCount) <= filter.fromSeq { continue }
                var one = SegmentScanner(handle: handle, fileSize: size, offset: ib.offset)
                var data: [UInt8] = []
                guard case .batch(let b) = try one.next(data: &data) else {
                    throw damage(ib.offset, "indexed batch is not intact", ib.firstSeq, ib.firstSeq + UInt64(ib.eventCount) - 1)
                }
                if try !data.withUnsafeBytes({ try deliverBatch(b, $0, decoder: &decoder) }) { return (false, next) }
            }
            next = max(next, min(index.nextSeq, filter.untilSeq == .max ? index.nextSeq : filter.untilSeq + 1))
            start = tailStart
        }
        let keepGoing = try walk(from: start) { b, data in try deliverBatch(b, data, decoder: &decoder) }
        return (keepGoing, next)
    }
}

/// Holds a loaded dictionary once there is one (a log without one is asked again, which is cheap).
final class DictionaryCache: Sendable {
    private let stored = Locked<LoadedDictionary?>(nil)
    var value: LoadedDictionary? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
