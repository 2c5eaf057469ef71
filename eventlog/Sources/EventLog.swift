import Foundation
import Logging
import PurserCore

/// Options for opening a log for writing.
public struct EventLogOptions: Sendable {
    public enum Compression: String, Sendable {
        /// Frames compressed against the log's LZ4 dictionary (`lz4 -dc -D <dir>/lz4.dict SEGMENT`).
        case dictionary
        /// Plain LZ4 frames (`lz4 -dc SEGMENT`); small per-org frames compress poorly.
        case plain
    }

    /// A segment is closed and a new one begun once it would grow past this.
    public var segmentBytesMax: UInt64 = 64 << 20
    /// At most this many events go into one group commit.
    public var batchEventsMax: Int = 8192
    /// At most this many uncompressed bytes go into one group commit.
    public var batchRawBytesMax: Int = 4 << 20
    /// Used only when a log is created; an existing log keeps what it was created with.
    public var compression: Compression = .dictionary

    public init() {}
}

/// One append's events must all fit one batch.
public enum AppendLimits {
    public static let appendEventsMax = 8192
}

/// "Stream S (in org O) must be at version N before this append"; 0 means "must not exist yet".
public struct ExpectedVersion: Sendable, Hashable {
    public var org: String
    public var stream: String
    public var version: UInt32

    public init(org: String, stream: String, version: UInt32) {
        self.org = org
        self.stream = stream
        self.version = version
    }
}

public struct AppendResult: Sendable, Equatable {
    /// The seq of each draft, in order; a duplicate gets the seq it was first stored under.
    public var seqs: [UInt64]
    /// Which drafts were already in the log (same event id) and were not stored again.
    public var duplicates: [Bool]

    public init(seqs: [UInt64], duplicates: [Bool]) {
        self.seqs = seqs
        self.duplicates = duplicates
    }
}

/// What recovery on open found and did.
public struct RecoveryReport: Sendable {
    public struct Truncation: Sendable, CustomStringConvertible {
        public var segment: String
        public var offset: UInt64
        public var bytes: UInt64
        public var firstSeq: UInt64?
        public var lastSeq: UInt64?
        public var reason: String

        public var description: String {
            let range = firstSeq.map { f in " (seq \(f)–\(lastSeq ?? f), never acknowledged)" } ?? ""
            return "cut \(bytes) bytes at offset \(offset) of \(segment)\(range): \(reason)"
        }
    }

    public var truncations: [Truncation] = []
    public var removedSegments: [String] = []
    public var rebuiltIndexes: [String] = []

    public var isClean: Bool { truncations.isEmpty && removedSegments.isEmpty }
}

/// The append side of the event log: one writer per directory, group commit, crash recovery.
///
/// Appends from any number of threads or tasks queue up; a dedicated writer thread takes all
/// that are waiting, assigns seqs, compresses one LZ4 frame per org, writes the batch and
/// fdatasyncs it, and only then acknowledges every append in it. fdatasync is the expensive
/// step (~200 µs here), so batching many appends behind one sync is what makes the log fast.
public final class EventLog: @unchecked Sendable {
    public let directory: String
    public let recovery: RecoveryReport
    let paths: LogPaths
    let fs: any FileSystem
    let options: EventLogOptions
    let logger: Logger
    private let lock: any FileLock
    /// Reads back stored events when an id hash matches (to tell a duplicate from a collision).
    private let reader: LogReader

    // Writer-thread state (touched only by the writer thread after open, or under `cond`).
    private let dictionary: LoadedDictionary?
    private let compressor: LZ4Compressor
    private var active: any FileHandle
    private var activeFirstSeq: UInt64
    private var activeSize: UInt64
    private var builder: SegmentIndexBuilder
    private var nextSeq: UInt64
    private var lastHash: [UInt8]
    private var streamVersions: [StreamID: UInt32]
    private var sealedIDHashes: [UInt64]
    private var sealedIDSeqs: [UInt64]
    private var activeIDs: [UInt64: UInt64]

    // Shared between appenders and the writer thread.
    private let cond = NSCondition()
    private var pending: [Request] = []
    private var closing = false
    private var finished = false
    private var failure: LogError?
    private var durableNext: UInt64
    private var thread: Thread?

    // The sync stage: the writer thread writes batches and hands them here; the syncer thread
    // fdatasyncs once for everything written so far and only then acknowledges. While one sync
    // is in flight the writer already encodes and writes the next batch.
    private struct SyncItem {
        /// The segment written to, or nil when the batch wrote nothing (only duplicates/conflicts).
        var handle: (any FileHandle)?
        var nextSeq: UInt64
        var deliveries: [(Request, Result<AppendResult, LogError>)]
    }
    private let syncCond = NSCondition()
    private var syncQueue: [SyncItem] = []
    private var syncing = false
    private var syncStop = false
    private var syncDone = false

    final class Request {
        let events: [PreparedEvent]
        let expectations: [ExpectedVersion]
        let rawBytes: Int
        let completion: (Result<AppendResult, LogError>) -> Void

        init(events: [PreparedEvent], expectations: [ExpectedVersion], completion: @escaping (Result<AppendResult, LogError>) -> Void) {
            self.events = events
            self.expectations = expectations
            self.rawBytes = events.reduce(0) { $0 + $1.body.count + 24 }
            self.completion = completion
        }
    }

    /// Opens (or creates) the log in `directory` for writing, recovering from a crash if needed.
    public static func open(directory: String, options: EventLogOptions = EventLogOptions(),
                            fileSystem: any FileSystem = PosixFileSystem(),
                            logger: Logger = Logger(label: "purser.eventlog")) throws -> EventLog {
        try EventLog(directory: directory, options: options, fs: fileSystem, logger: logger)
    }

    private init(directory: String, options: EventLogOptions, fs: any FileSystem, logger: Logger) throws {
        self.directory = directory
        self.paths = LogPaths(dir: directory)
        self.fs = fs
        self.options = options
        self.logger = logger
        self.reader = LogReader(directory: directory, fileSystem: fs)
        do {
            try fs.createDirectory(directory)
        } catch {
            throw LogError(.io, "cannot create the data directory \(directory); check the path and its permissions", cause: error)
        }
        self.lock = try fs.lock(paths.lock, pid: getpid())
        do {
            var report = RecoveryReport()
            try fs.createDirectory(paths.segments)
            try fs.createDirectory(paths.index)
            var segments = try paths.listSegments(fs)
            if segments.isEmpty {
                // A new log: the dictionary first (durably), then the first segment.
                if options.compression == .dictionary && !fs.exists(paths.dictionary) {
                    try fs.writeFileAtomically(paths.dictionary, DefaultDictionary.bytes, directory: directory)
                }
                let dictID = try paths.loadDictionary(fs)?.id ?? 0
                try EventLog.createSegment(fs: fs, paths: paths, firstSeq: 1, prevHash: Format.zeroHash, dictID: dictID).close()
                segments = [1]
            }
            let dict = try paths.loadDictionary(fs)
            self.dictionary = dict
            self.compressor = try LZ4Compressor(dictionary: dict?.bytes, dictID: dict?.id ?? 0)

            // Sealed segments: trust their index (rebuild it if missing); they are not rescanned.
            var expectSeq: UInt64 = 1
            var hash = Format.zeroHash
            var versions: [StreamID: UInt32] = [:]
            var idPairs: [(hash: UInt64, seq: UInt64)] = []
            var decoder = BatchDecoder(dictionary: dict?.bytes ?? [])
            for first in segments.dropLast() {
                let name = Format.segmentName(first)
                let h = try fs.open(paths.segment(first), mode: .readOnly)
                defer { h.close() }
                let size = try h.size()
                let header = try EventLog.readSegmentHeader(h, name: name, strict: true)!
                try EventLog.checkContinuity(header, name: name, expectSeq: expectSeq, prevHash: hash)
                var index = try? SegmentIndexFile(handle: fs.open(paths.indexFile(first), mode: .readOnly))
                if let i = index, i.segmentFirstSeq != first || i.coveredBytes != size { index = nil }
                if index == nil {
                    let b = try EventLog.scanSegment(h, size: size, header: header, name: name, decoder: &decoder, isLast: false)
                    try fs.writeFileAtomically(paths.indexFile(first), b.builder.serialize(), directory: paths.index)
                    report.rebuiltIndexes.append(Format.indexName(first))
                    index = try SegmentIndexFile(handle: fs.open(paths.indexFile(first), mode: .readOnly))
                }
                let idx = index!
                for (k, v) in try idx.streams() {
                    guard let id = StreamID(stored: k) else { throw LogError(.corrupt, "index \(Format.indexName(first)) names a stream without its org") }
                    versions[id] = v
                }
                idPairs.append(contentsOf: try idx.ids())
                expectSeq = idx.nextSeq
                hash = idx.lastHash
            }

            // The active (last) segment is scanned, data included, from where its index ends (the
            // whole segment when there is none): this is where a crash leaves a torn tail.
            var lastFirst = segments.last!
            var handle = try fs.open(paths.segment(lastFirst), mode: .readWrite)
            var size = try handle.size()
            let lastName = Format.segmentName(lastFirst)
            let headerOrNil = try EventLog.readSegmentHeader(handle, name: lastName, strict: false)
            if headerOrNil == nil {
                // The newest segment's own header never became durable, so no batch in it was
                // ever acknowledged: remove it and start it again.
                handle.close()
                try fs.remove(paths.segment(lastFirst))
                try? fs.remove(paths.indexFile(lastFirst))
                try fs.syncDirectory(paths.segments)
                report.removedSegments.append(lastName)
                lastFirst = expectSeq
                handle = try EventLog.createSegment(fs: fs, paths: paths, firstSeq: lastFirst, prevHash: hash, dictID: dict?.id ?? 0)
                size = try handle.size()
            }
            let header = try EventLog.readSegmentHeader(handle, name: Format.segmentName(lastFirst), strict: true)!
            try EventLog.checkContinuity(header, name: Format.segmentName(lastFirst), expectSeq: expectSeq, prevHash: hash)
            var resume: SegmentIndexBuilder? = nil
            if let ih = try? fs.open(paths.indexFile(lastFirst), mode: .readOnly) {
                if let idx = try? SegmentIndexFile(handle: ih), idx.segmentFirstSeq == lastFirst, idx.coveredBytes <= size,
                   idx.coveredBytes >= UInt64(Format.segmentHeaderBytes), idx.nextSeq >= lastFirst,
                   let loaded = try? SegmentIndexBuilder(loading: idx), EventLog.indexMatches(loaded, handle, size: size) {
                    resume = loaded
                } else {
                    ih.close()
                }
            }
            let scanned = try EventLog.scanSegment(handle, size: size, header: header, name: Format.segmentName(lastFirst),
                                                   decoder: &decoder, isLast: true, resume: resume)
            if let cut = scanned.truncation {
                try handle.truncate(to: cut.offset)
                try handle.sync()
                size = cut.offset
                report.truncations.append(cut)
                // A stale index may describe the cut bytes.
                try? fs.remove(paths.indexFile(lastFirst))
            }
            let activeVersions = scanned.builder.streamVersions
            versions.reserveCapacity(versions.count + activeVersions.count)
            for (k, v) in activeVersions { versions[k] = v }
            var active: [UInt64: UInt64] = [:]
            for p in scanned.builder.ids where active[p.hash] == nil { active[p.hash] = p.seq }
            idPairs.sort { $0.hash < $1.hash || ($0.hash == $1.hash && $0.seq < $1.seq) }

            self.active = handle
            self.activeFirstSeq = lastFirst
            self.activeSize = size
            self.builder = scanned.builder
            self.nextSeq = scanned.builder.nextSeq
            self.lastHash = scanned.builder.lastHash
            self.streamVersions = versions
            self.sealedIDHashes = idPairs.map(\.hash)
            self.sealedIDSeqs = idPairs.map(\.seq)
            self.activeIDs = active
            self.durableNext = scanned.builder.nextSeq
            self.recovery = report
        } catch {
            lock.unlock()
            throw error
        }
        for t in recovery.truncations { logger.warning("event log recovery: \(t)") }
        for r in recovery.removedSegments { logger.warning("event log recovery: removed segment \(r) whose header was never made durable") }
        // The thread holds the log until `close()` ends it: a log must be closed to be released.
        let t = Thread { self.writerLoop() }
        t.name = "purser-eventlog-writer"
        thread = t
        t.start()
        let syncer = Thread { self.syncLoop() }
        syncer.name = "purser-eventlog-sync"
        syncer.start()
    }

    deinit {
        lock.unlock()
    }

    /// The seq the next appended event will get; everything below it is durable.
    public var nextSequence: UInt64 {
        cond.lock()
        defer { cond.unlock() }
        return durableNext
    }

    /// Current version of a stream (0 if it has no events).
    public func streamVersion(org: String, stream: String) -> UInt32 {
        cond.lock()
        defer { cond.unlock() }
        return streamVersions[StreamID(org: org, stream: stream)] ?? 0
    }

    // MARK: Appending

    /// Appends `drafts` atomically (all in one batch) and returns once they are durable.
    public func append(_ drafts: [EventDraft], expecting: [ExpectedVersion] = []) async throws -> AppendResult {
        let request = try makeRequest(drafts, expecting) { _ in }
        return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<AppendResult, any Error>) in
            enqueue(Request(events: request.events, expectations: request.expectations) { cont.resume(with: $0.mapError { $0 }) })
        }
    }

    /// The blocking form of `append`, for threads that are not part of Swift concurrency
    /// (command-line tools, benchmarks).
    public func appendSync(_ drafts: [EventDraft], expecting: [ExpectedVersion] = []) throws -> AppendResult {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let request = try makeRequest(drafts, expecting) { result in
            box.result = result
            done.signal()
        }
        enqueue(request)
        done.wait()
        return try box.result!.get()
    }

    private final class ResultBox: @unchecked Sendable {
        var result: Result<AppendResult, LogError>?
    }

    private func makeRequest(_ drafts: [EventDraft], _ expecting: [ExpectedVersion],
                             _ completion: @escaping (Result<AppendResult, LogError>) -> Void) throws -> Request {
        guard !drafts.isEmpty else { throw LogError(.invalidEvent, "an append needs at least one event") }
        guard drafts.count <= AppendLimits.appendEventsMax else {
            throw LogError(.invalidEvent, "an append holds at most \(AppendLimits.appendEventsMax) events; split the \(drafts.count) into several appends")
        }
        var prepared: [PreparedEvent] = []
        prepared.reserveCapacity(drafts.count)
        for d in drafts { prepared.append(try d.prepare()) }
        return Request(events: prepared, expectations: expecting, completion: completion)
    }

    private func enqueue(_ request: Request) {
        cond.lock()
        if let failure {
            cond.unlock()
            request.completion(.failure(failure))
            return
        }
        if closing || finished {
            cond.unlock()
            request.completion(.failure(LogError(.closed, "the event log is closed")))
            return
        }
        pending.append(request)
        cond.signal()
        cond.unlock()
    }

    /// Flushes what is queued, writes the active segment's index, and releases the lock.
    public func close() {
        cond.lock()
        if finished {
            cond.unlock()
            return
        }
        closing = true
        cond.broadcast()
        while !finished { cond.wait() }
        cond.unlock()
        syncCond.lock()
        syncStop = true
        syncCond.broadcast()
        while !syncDone { syncCond.wait() }
        syncCond.unlock()
        if failure == nil {
            // Index the active segment so the next open and every reader can skip scanning it.
            do {
                try fs.writeFileAtomically(paths.indexFile(activeFirstSeq), builder.serialize(), directory: paths.index)
            } catch {
                logger.warning("could not write the index of the active segment: \(error); it will be rebuilt")
            }
        }
        active.close()
        lock.unlock()
    }

    // MARK: The writer thread

    private func writerLoop() {
        while true {
            cond.lock()
            while pending.isEmpty && !closing { cond.wait() }
            if pending.isEmpty && closing {
                finished = true
                cond.broadcast()
                cond.unlock()
                return
            }
            var take = 0, events = 0, bytes = 0
            while take < pending.count {
                let r = pending[take]
                if take > 0 && (events + r.events.count > options.batchEventsMax || bytes + r.rawBytes > options.batchRawBytesMax) { break }
                events += r.events.count
                bytes += r.rawBytes
                take += 1
            }
            let batch = Array(pending[0..<take])
            pending.removeFirst(take)
            let failed = failure
            cond.unlock()

            if let failed {
                for r in batch { r.completion(.failure(failed)) }
                continue
            }
            commit(batch)
        }
    }

    /// Where an earlier copy of an event (same id) is.
    private enum Earlier {
        case stored(UInt64)
        /// Earlier in this same batch: accepted request index, event index.
        case inBatch(Int, Int)
    }

    private struct Accepted {
        var request: Request
        /// Per event: its earlier copy, or nil if the event is new.
        var existing: [Earlier?]
        /// Per new event: its stream version.
        var versions: [UInt32]
        var seqs: [UInt64] = []
    }

    /// The seq of an earlier copy of this event's id, if any. The common case (no hash match)
    /// costs one dictionary probe and one binary search and allocates nothing.
    private func lookupID(_ e: PreparedEvent) -> UInt64? {
        // A 64-bit hash can collide, so every match is confirmed against the stored event.
        func confirmed(_ seq: UInt64) -> Bool { (try? storedID(at: seq)) == e.id.text }
        if let s = activeIDs[e.idHash], confirmed(s) { return s }
        var lo = 0, hi = sealedIDHashes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sealedIDHashes[mid] < e.idHash { lo = mid + 1 } else { hi = mid }
        }
        while lo < sealedIDHashes.count && sealedIDHashes[lo] == e.idHash {
            if confirmed(sealedIDSeqs[lo]) { return sealedIDSeqs[lo] }
            lo += 1
        }
        return nil
    }

    private func storedID(at seq: UInt64) throws -> String? {
        var id: String?
        try reader.scan(LogReader.Filter(fromSeq: seq, untilSeq: seq)) { record in
            id = storedEventID(record.json)
            return false
        }
        return id
    }

    private func commit(_ requests: [Request]) {
        // 1. De-duplicate and check expected versions, in arrival order.
        var accepted: [Accepted] = []
        accepted.reserveCapacity(requests.count)
        var totalEvents = 0
        for r in requests { totalEvents += r.events.count }
        var overlay: [StreamID: UInt32] = Dictionary(minimumCapacity: totalEvents)
        var batchIDs: [HashedKey: (Int, Int)] = Dictionary(minimumCapacity: totalEvents) // id -> (accepted index, event index)
        var completions: [(Request, Result<AppendResult, LogError>)] = []
        for r in requests {
            var existing = [Earlier?](repeating: nil, count: r.events.count)
            var local: [HashedKey: Int] = [:]
            for i in r.events.indices {
                let id = r.events[i].id
                if let (a, ei) = batchIDs[id] {
                    existing[i] = .inBatch(a, ei)
                } else if let ei = local[id] {
                    existing[i] = .inBatch(accepted.count, ei)
                } else if let s = lookupID(r.events[i]) {
                    existing[i] = .stored(s)
                } else if r.events.count > 1 {
                    local[id] = i
                }
            }
            if existing.allSatisfy({ if case .stored = $0 { return true } else { return false } }) {
                let seqs = existing.map { e -> UInt64 in if case .stored(let s) = e { return s } else { return 0 } }
                completions.append((r, .success(AppendResult(seqs: seqs, duplicates: seqs.map { _ in true }))))
                continue
            }
            var conflict: LogError?
            for x in r.expectations {
                let key = StreamID(org: x.org, stream: x.stream)
                let current = overlay[key] ?? streamVersions[key] ?? 0
                if current != x.version {
                    conflict = LogError(.versionConflict, "stream \(x.stream) of org \(x.org) is at version \(current), not \(x.version); reload it and retry")
                    break
                }
            }
            if let conflict {
                completions.append((r, .failure(conflict)))
                continue
            }
            var versions = [UInt32](repeating: 0, count: r.events.count)
            for i in r.events.indices where existing[i] == nil {
                let key = r.events[i].streamKey
                let v = (overlay[key] ?? streamVersions[key] ?? 0) + 1
                overlay[key] = v
                versions[i] = v
                batchIDs[r.events[i].id] = (accepted.count, i)
            }
            accepted.append(Accepted(request: r, existing: existing, versions: versions))
        }
        if accepted.isEmpty {
            // Duplicates may point at batches still waiting for their sync: answer after it.
            enqueueSync(SyncItem(handle: nil, nextSeq: nextSeq, deliveries: completions))
            return
        }

        // 2. Group the new events by org (first appearance order) and assign seqs.
        var orgOrder: [HashedKey] = []
        var byOrg: [HashedKey: [(Int, Int)]] = [:]
        for (ai, a) in accepted.enumerated() {
            let events = a.request.events
            for i in events.indices where a.existing[i] == nil {
                let org = events[i].org
                if byOrg[org] == nil { orgOrder.append(org); byOrg[org] = [] }
                byOrg[org]!.append((ai, i))
            }
        }
        for ai in accepted.indices { accepted[ai].seqs = [UInt64](repeating: 0, count: accepted[ai].request.events.count) }

        var strings: [String] = []
        var stringIDs: [HashedKey: UInt16] = Dictionary(minimumCapacity: totalEvents + 16)
        func sid(_ s: HashedKey) -> UInt16 {
            if let id = stringIDs[s] { return id }
            let id = UInt16(strings.count)
            strings.append(s.text)
            stringIDs[s] = id
            return id
        }
        let firstSeq = nextSeq
        var seq = firstSeq
        var frames: [FrameMeta] = []
        var metas: [EventMeta] = []
        metas.reserveCapacity(totalEvents)
        var idHashes: [UInt64] = []
        idHashes.reserveCapacity(totalEvents)
        var data: [UInt8] = []
        var raw: [UInt8] = []
        var minTs = Int64.max, maxTs = Int64.min
        do {
            for org in orgOrder {
                raw.removeAll(keepingCapacity: true)
                let members = byOrg[org]!
                for (ai, i) in members {
                    accepted[ai].request.events.withUnsafeBufferPointer { events in
                        let e = events[i]
                        let start = raw.count
                        raw.append(contentsOf: #"{"seq":"#.utf8)
                        appendDecimal(seq, to: &raw)
                        raw.append(44)
                        raw.append(contentsOf: e.body)
                        let len = raw.count - start
                        raw.append(10)
                        let v = accepted[ai].versions[i]
                        metas.append(EventMeta(rawBytes: UInt32(len), type: sid(e.type), stream: sid(e.stream), streamVersion: v))
                        idHashes.append(e.id.hash)
                        minTs = min(minTs, e.timestampMs)
                        maxTs = max(maxTs, e.timestampMs)
                    }
                    accepted[ai].seqs[i] = seq
                    seq += 1
                }
                let clen = try raw.withUnsafeBytes { try compressor.compressFrame($0, into: &data) }
                frames.append(FrameMeta(org: UInt32(sid(org)), eventCount: UInt32(members.count),
                                        compressedBytes: UInt32(clen), rawBytes: UInt32(raw.count)))
            }
        } catch {
            let err = LogError(.io, "could not compress a batch", cause: error)
            for a in accepted { a.request.completion(.failure(err)) }
            for (r, res) in completions { r.completion(res) }
            return
        }
        let finalVersions = overlay
        let dataCRC = data.withUnsafeBytes { crc32c($0) }
        let header = BatchHeader(firstSeq: firstSeq, commitMs: Timestamp.nowMs(), minTs: minTs, maxTs: maxTs,
                                 dataCRC: dataCRC, dataBytes: UInt64(data.count), prevHash: lastHash,
                                 strings: strings, frames: frames, events: metas)
        let (headerBytes, hash) = header.encode()

        // 3. Write, then hand over to the syncer. Durability order: the batch's bytes (header
        //    frame, then data frames) are written at the end of the active segment; the syncer
        //    fdatasyncs, and only after that returns is any append acknowledged. A new segment is
        //    made durable (file synced, directory synced) before a batch goes into it.
        do {
            let total = UInt64(headerBytes.count + data.count)
            if activeSize + total > options.segmentBytesMax && builder.batches.count > 0 {
                try rollSegment()
            }
            let offset = activeSize
            var buffer = headerBytes
            buffer.append(contentsOf: data)
            try active.write(buffer, at: offset)
            activeSize = offset + total
            let scanned = ScannedBatch(offset: offset, headerBytes: headerBytes.count, header: header, hash: hash)
            builder.add(scanned, idHashes: idHashes)
            nextSeq = seq
            lastHash = hash
            for (k, v) in finalVersions { streamVersions[k] = v }
            for (i, h) in idHashes.enumerated() where activeIDs[h] == nil { activeIDs[h] = firstSeq + UInt64(i) }
        } catch {
            // A failed write or sync leaves the file in an unknown state; a failed fsync must not
            // be retried as if nothing happened. Refuse further appends until the log is
            // reopened, which recovers the tail from what is really on disk.
            let err = LogError(.poisoned, "the event log stopped accepting appends after a failed write or sync; nothing from this batch was acknowledged. Fix the cause (disk full? I/O error?) and reopen the log", cause: error)
            cond.lock()
            if failure == nil { failure = err }
            cond.unlock()
            logger.error("event log write failed: \(error)")
            for a in accepted { a.request.completion(.failure(err)) }
            for (r, _) in completions { r.completion(.failure(err)) }
            return
        }
        var deliveries: [(Request, Result<AppendResult, LogError>)] = []
        for a in accepted {
            var seqs = a.seqs
            var dup = [Bool](repeating: false, count: seqs.count)
            for (i, ex) in a.existing.enumerated() {
                switch ex {
                case nil: continue
                case .stored(let s): seqs[i] = s
                case .inBatch(let ai, let ei): seqs[i] = accepted[ai].seqs[ei]
                }
                dup[i] = true
            }
            deliveries.append((a.request, .success(AppendResult(seqs: seqs, duplicates: dup))))
        }
        deliveries.append(contentsOf: completions)
        enqueueSync(SyncItem(handle: active, nextSeq: nextSeq, deliveries: deliveries))
    }

    private func enqueueSync(_ item: SyncItem) {
        syncCond.lock()
        syncQueue.append(item)
        syncCond.signal()
        syncCond.unlock()
    }

    /// Blocks until every batch handed to the syncer is synced and acknowledged.
    private func waitForSyncer() {
        syncCond.lock()
        while !syncQueue.isEmpty || syncing { syncCond.wait() }
        syncCond.unlock()
    }

    private func syncLoop() {
        while true {
            syncCond.lock()
            while syncQueue.isEmpty && !syncStop { syncCond.wait() }
            if syncQueue.isEmpty && syncStop {
                syncDone = true
                syncCond.broadcast()
                syncCond.unlock()
                return
            }
            let items = syncQueue
            syncQueue.removeAll(keepingCapacity: true)
            syncing = true
            syncCond.unlock()

            cond.lock()
            var failed = failure
            cond.unlock()
            if failed == nil {
                // One fdatasync per segment covers every batch written to it so far.
                var handles: [ObjectIdentifier: any FileHandle] = [:]
                for item in items { if let h = item.handle { handles[ObjectIdentifier(h)] = h } }
                do {
                    for h in handles.values { try h.sync() }
                } catch {
                    // A failed fdatasync is not retried: the kernel may have dropped the dirty
                    // pages, so a later "successful" sync would prove nothing.
                    let err = LogError(.poisoned, "the event log stopped accepting appends after a failed sync; nothing waiting for it was acknowledged. Fix the cause (disk full? I/O error?) and reopen the log", cause: error)
                    logger.error("event log sync failed: \(error)")
                    cond.lock()
                    if failure == nil { failure = err }
                    failed = failure
                    cond.unlock()
                }
            }
            if let failed {
                for item in items { for (r, _) in item.deliveries { r.completion(.failure(failed)) } }
            } else {
                cond.lock()
                durableNext = max(durableNext, items.last!.nextSeq)
                cond.unlock()
                for item in items { for (r, res) in item.deliveries { r.completion(res) } }
            }
            syncCond.lock()
            syncing = false
            syncCond.broadcast()
            syncCond.unlock()
        }
    }

    /// Seals the active segment (its index written durably) and starts the next one.
    private func rollSegment() throws {
        // Everything written to the old segment is synced (and acknowledged) before it is sealed
        // and its handle closed.
        waitForSyncer()
        cond.lock()
        let failed = failure
        cond.unlock()
        if let failed { throw failed }
        try fs.writeFileAtomically(paths.indexFile(activeFirstSeq), builder.serialize(), directory: paths.index)
        let newHandle = try EventLog.createSegment(fs: fs, paths: paths, firstSeq: nextSeq, prevHash: lastHash, dictID: dictionary?.id ?? 0)
        active.close()
        active = newHandle
        activeFirstSeq = nextSeq
        activeSize = UInt64(Format.segmentHeaderBytes)
        // The sealed segment's ids join the sorted table.
        var pairs = zip(sealedIDHashes, sealedIDSeqs).map { (hash: $0, seq: $1) }
        pairs.append(contentsOf: builder.ids)
        pairs.sort { $0.hash < $1.hash || ($0.hash == $1.hash && $0.seq < $1.seq) }
        sealedIDHashes = pairs.map(\.hash)
        sealedIDSeqs = pairs.map(\.seq)
        activeIDs.removeAll(keepingCapacity: true)
        builder = SegmentIndexBuilder(segmentFirstSeq: nextSeq, coveredBytes: UInt64(Format.segmentHeaderBytes), prevHash: lastHash)
        logger.debug("event log: new segment \(Format.segmentName(nextSeq))")
    }

    // MARK: Opening helpers

    /// Creates a segment durably: header written and synced, then the directory synced, so the
    /// segment exists after a crash before any batch in it can be acknowledged.
    static func createSegment(fs: any FileSystem, paths: LogPaths, firstSeq: UInt64, prevHash: [UInt8], dictID: UInt32) throws -> any FileHandle {
        let path = paths.segment(firstSeq)
        let h = try fs.open(path, mode: .createExclusive)
        do {
            let header = SegmentHeader(firstSeq: firstSeq, dictID: dictID, prevHash: prevHash, createdMs: Timestamp.nowMs())
            try h.write(header.encode(), at: 0)
            try h.sync()
            try fs.syncDirectory(paths.segments)
        } catch {
            h.close()
            throw error
        }
        return h
    }

    /// Reads a segment header. With `strict` false, a header that is cut short or damaged in a
    /// segment holding nothing else returns nil (a segment whose creation never became durable).
    static func readSegmentHeader(_ h: any FileHandle, name: String, strict: Bool) throws -> SegmentHeader? {
        let bytes = try h.readBytes(count: Format.segmentHeaderBytes, at: 0)
        do {
            return try bytes.withUnsafeBytes { try SegmentHeader.decode($0) }
        } catch let e as LogError {
            if !strict, try h.size() <= UInt64(Format.segmentHeaderBytes) + 64 { return nil }
            if !strict {
                let scanner = SegmentScanner(handle: h, fileSize: try h.size(), offset: 0)
                if try scanner.intactBatchExists(after: 0) == nil { return nil }
            }
            throw LogError(.corruptMiddle, "segment \(name): header is damaged (\(e.message)); the events in it cannot be trusted. Run `purser log verify` for details", cause: e)
        }
    }

    /// Whether an index's last batch really ends where the index says, with the hash it records:
    /// a stale or foreign index is not trusted (the segment is scanned instead).
    static func indexMatches(_ b: SegmentIndexBuilder, _ h: any FileHandle, size: UInt64) -> Bool {
        guard let last = b.batches.last else { return b.coveredBytes == UInt64(Format.segmentHeaderBytes) }
        var scanner = SegmentScanner(handle: h, fileSize: size, offset: last.offset)
        guard case .batch(let batch)? = try? scanner.next(data: nil) else { return false }
        return batch.endOffset == b.coveredBytes && batch.hash == b.lastHash && batch.header.lastSeq + 1 == b.nextSeq
    }

    static func checkContinuity(_ header: SegmentHeader, name: String, expectSeq: UInt64, prevHash: [UInt8]) throws {
        guard header.firstSeq == expectSeq else {
            throw LogError(.corruptMiddle, "segment \(name) starts at seq \(header.firstSeq) but the log continues at \(expectSeq): events \(min(expectSeq, header.firstSeq))–\(max(expectSeq, header.firstSeq) - 1) are missing or duplicated")
        }
        guard header.prevHash == prevHash else {
            throw LogError(.corruptMiddle, "segment \(name) does not continue the hash chain of the segment before it; a batch was removed, replaced or reordered")
        }
    }

    /// Scans a segment from its header, checking every batch and collecting its index. In the
    /// last segment, damage with nothing intact after it is a torn tail to cut; anywhere else it
    /// is damage in the middle, which is an error.
    static func scanSegment(_ h: any FileHandle, size: UInt64, header: SegmentHeader, name: String,
                            decoder: inout BatchDecoder, isLast: Bool,
                            resume: SegmentIndexBuilder? = nil) throws -> (builder: SegmentIndexBuilder, truncation: RecoveryReport.Truncation?) {
        let builder = resume ?? SegmentIndexBuilder(segmentFirstSeq: header.firstSeq, coveredBytes: UInt64(Format.segmentHeaderBytes), prevHash: header.prevHash)
        var scanner = SegmentScanner(handle: h, fileSize: size, offset: builder.coveredBytes)
        var data: [UInt8] = []
        while true {
            let step = try scanner.next(data: &data)
            switch step {
            case .end:
                return (builder, nil)
            case .batch(let b):
                var problem: String?
                if b.header.firstSeq != builder.nextSeq { problem = "batch starts at seq \(b.header.firstSeq), expected \(builder.nextSeq)" }
                else if b.header.prevHash != builder.lastHash { problem = "batch does not continue the hash chain" }
                var ids: [UInt64] = []
                if problem == nil {
                    do {
                        try data.withUnsafeBytes { d in
                            try decoder.forEachEvent(b, data: d, wanted: { _ in true }) { _, _, line in
                                ids.append(fnv1a64(storedEventID(line) ?? ""))
                                return true
                            }
                        }
                    } catch let e as LogError {
                        problem = e.message
                    }
                }
                if let problem {
                    return try damaged(at: b.offset, reason: problem, first: b.header.firstSeq, last: b.header.lastSeq)
                }
                builder.add(b, idHashes: ids)
            case let .damaged(offset, reason, first, last):
                return try damaged(at: offset, reason: reason, first: first, last: last)
            }
        }

        func damaged(at offset: UInt64, reason: String, first: UInt64?, last: UInt64?) throws -> (builder: SegmentIndexBuilder, truncation: RecoveryReport.Truncation?) {
            if isLast, try scanner.intactBatchExists(after: offset) == nil {
                return (builder, RecoveryReport.Truncation(segment: name, offset: offset, bytes: size - offset,
                                                           firstSeq: first, lastSeq: last, reason: reason))
            }
            let range = first.map { " (seq \($0)–\(last ?? $0))" } ?? ""
            throw LogError(.corruptMiddle, "segment \(name) is damaged at offset \(offset)\(range): \(reason); intact batches follow, so this is not a torn tail. Run `purser log verify` and restore the segment from a backup")
        }
    }
}

@inline(__always)
func appendDecimal(_ v: UInt64, to out: inout [UInt8]) {
    if v < 10 {
        out.append(UInt8(48 + v))
        return
    }
    var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
              UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var n = 0
    var x = v
    withUnsafeMutableBytes(of: &tmp) { buf in
        while x > 0 {
            buf[19 - n] = UInt8(48 + x % 10)
            x /= 10
            n += 1
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(20 - n)...]))
    }
}
