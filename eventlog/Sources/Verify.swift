import PurserCore

/// Full integrity check of a log: every checksum, the hash chain, seq continuity, and every
/// frame decoded. Nothing is trusted from the indexes.
public struct VerifyReport: Sendable {
    public struct Fault: Sendable, CustomStringConvertible {
        public var segment: String
        public var offset: UInt64
        public var firstSeq: UInt64?
        public var lastSeq: UInt64?
        public var reason: String
        /// The orgs whose events the damaged batch holds, when its header could still be read.
        public var orgs: [String] = []

        public var description: String {
            let range = firstSeq.map { " seq \($0)–\(lastSeq ?? $0)" } ?? ""
            let who = orgs.isEmpty ? "" : " (org\(orgs.count == 1 ? "" : "s") \(orgs.joined(separator: ", ")))"
            return "\(segment) @\(offset)\(range)\(who): \(reason)"
        }
    }

    /// The newest batch (or segment header) cut short by a crash before it was synced: the state
    /// a log is in until the next writer opens it and cuts the bytes. Never a fault: no event in
    /// it was acknowledged (acknowledgement waits for `fdatasync` of the whole batch).
    public struct TornTail: Sendable, CustomStringConvertible {
        public var segment: String
        public var offset: UInt64
        /// From `offset` to the end of the segment: what the next writer cuts.
        public var bytes: UInt64
        public var firstSeq: UInt64?
        public var lastSeq: UInt64?
        public var reason: String

        public var description: String {
            let range = firstSeq.map { " seq \($0)–\(lastSeq ?? $0)" } ?? ""
            return "torn tail from an interrupted write, \(bytes) bytes, no acknowledged event lost (\(segment) @\(offset)\(range): \(reason); the next writer to open the log cuts it)"
        }
    }

    public var segments = 0
    public var batches = 0
    public var events: UInt64 = 0
    public var lastSeq: UInt64 = 0
    /// Hash of the newest batch. Record it elsewhere to make truncation of the newest batches
    /// detectable too (the chain alone cannot tell a cut tail from a crash before acknowledgement).
    public var headHash: String = ""
    public var faults: [Fault] = []
    /// Set when the log ends in a torn write; `ok` can still be true.
    public var tornTail: TornTail?
    /// Derived files that disagree with the log (harmless: they are rebuilt on open).
    public var notes: [String] = []

    public var ok: Bool { faults.isEmpty }
}

/// Figures about a log, from its indexes and batch headers (nothing is decompressed).
public struct LogStats: Sendable {
    public var events: UInt64 = 0
    public var segments = 0
    public var batches = 0
    public var rawBytes: UInt64 = 0
    public var compressedBytes: UInt64 = 0
    public var fileBytes: UInt64 = 0
    public var orgs: [String: UInt64] = [:]
    public var types: Set<String> = []
    public var firstSeq: UInt64 = 0
    public var lastSeq: UInt64 = 0
    public var dictionary: Bool = false

    public var ratio: Double { compressedBytes == 0 ? 0 : Double(rawBytes) / Double(compressedBytes) }
}

extension LogReader {
    public func verify() throws -> VerifyReport {
        var report = VerifyReport()
        let segments = try paths.listSegments(fs)
        let dict = try dictionary()
        var decoder = BatchDecoder(dictionary: dict?.bytes ?? [])
        var expectSeq: UInt64 = 1
        var prevHash = Format.zeroHash
        for (si, first) in segments.enumerated() {
            let name = Format.segmentName(first)
            report.segments += 1
            let h = try fs.open(paths.segment(first), mode: .readOnly)
            defer { h.close() }
            let size = try h.size()
            let hb = try h.readBytes(count: Format.segmentHeaderBytes, at: 0)
            let header: SegmentHeader
            do {
                header = try hb.withUnsafeBytes { try SegmentHeader.decode($0) }
            } catch {
                if si == segments.count - 1, first == expectSeq, size < UInt64(Format.segmentHeaderBytes), Self.isSegmentHeaderPrefix(hb, firstSeq: first) {
                    // The newest segment was being created: its header never became durable, so
                    // nothing in it was acknowledged (the writer removes and recreates it).
                    report.tornTail = .init(segment: name, offset: 0, bytes: size, reason: "segment header cut short (\(size) of \(Format.segmentHeaderBytes) bytes)")
                    continue
                }
                report.faults.append(.init(segment: name, offset: 0, reason: "segment header: \((error as? LogError)?.message ?? "\(error)")"))
                continue
            }
            if header.firstSeq != first {
                report.faults.append(.init(segment: name, offset: 0, reason: "file name says seq \(first) but the header says \(header.firstSeq)"))
            }
            if header.firstSeq != expectSeq {
                report.faults.append(.init(segment: name, offset: 0, firstSeq: min(expectSeq, header.firstSeq), lastSeq: max(expectSeq, header.firstSeq) - 1,
                                           reason: header.firstSeq > expectSeq ? "events are missing before this segment" : "segment overlaps the one before"))
            }
            if header.prevHash != prevHash {
                report.faults.append(.init(segment: name, offset: 0, reason: "segment does not continue the hash chain (a batch or segment before it was removed, replaced or reordered)"))
            }
            if dict.map({ $0.id }) ?? 0 != header.dictID {
                report.faults.append(.init(segment: name, offset: 0, reason: "segment needs dictionary \(header.dictID), the log has \(dict.map { String($0.id) } ?? "none")"))
            }
            expectSeq = header.firstSeq
            prevHash = header.prevHash
            var scanner = SegmentScanner(handle: h, fileSize: size, offset: UInt64(Format.segmentHeaderBytes))
            var data: [UInt8] = []
            scanning: while true {
                switch try scanner.next(data: &data) {
                case .end:
                    break scanning
                case .batch(let b):
                    report.batches += 1
                    if b.header.firstSeq != expectSeq {
                        report.faults.append(.init(segment: name, offset: b.offset, firstSeq: b.header.firstSeq, lastSeq: b.header.lastSeq,
                                               reason: "batch starts at seq \(b.header.firstSeq) but \(expectSeq) comes next (a batch was removed or reordered)"))
                    }
                    if b.header.prevHash != prevHash {
                        report.faults.append(.init(segment: name, offset: b.offset, firstSeq: b.header.firstSeq, lastSeq: b.header.lastSeq,
                                                   reason: "hash chain broken: the batch before it was changed, removed or reordered", orgs: b.header.orgNames))
                    }
                    do {
                        try data.withUnsafeBytes { d in
                            try decoder.forEachEvent(b, data: d, wanted: { _ in true }) { _, _, line in
                                do { try JSONBytes.validate(line) } catch {
                                    throw LogError(.corrupt, "an event is not valid JSON: \(error)")
                                }
                                return true
                            }
                        }
                    } catch let e as LogError {
                        report.faults.append(.init(segment: name, offset: b.offset, firstSeq: b.header.firstSeq, lastSeq: b.header.lastSeq, reason: e.message, orgs: b.header.orgNames))
                    }
                    report.events += UInt64(b.header.eventCount)
                    expectSeq = b.header.lastSeq + 1
                    prevHash = b.hash
                case let .damaged(offset, reason, first, last):
                    // The writer's recovery rule (FORMAT.md, "Recovery on open"): damage in the last
                    // segment with no intact batch after it is the tail; anything else is damage in
                    // the middle. Verify also asks that the tail be cut short, as a crash leaves it:
                    // a whole batch failing its checksum may have been acknowledged, so it is a fault.
                    let resume = try scanner.intactBatchExists(after: offset)
                    let tail = resume == nil && si == segments.count - 1
                    if tail, try scanner.isCutShort(at: offset, expectSeq: expectSeq, prevHash: prevHash) {
                        report.tornTail = .init(segment: name, offset: offset, bytes: size - offset, firstSeq: first, lastSeq: last, reason: reason)
                        break scanning
                    }
                    // The header alone may still be intact (a flipped byte in the data): it names the orgs.
                    var headerProbe = SegmentScanner(handle: h, fileSize: size, offset: offset)
                    var orgs: [String] = []
                    if case .batch(let damaged) = try? headerProbe.next(data: nil) { orgs = damaged.header.orgNames }
                    report.faults.append(.init(segment: name, offset: offset, firstSeq: first, lastSeq: last,
                                               reason: reason + (tail ? " (at the end of the log, but the batch is not cut short as a crash leaves it, so it may have been acknowledged; the next writer to open the log cuts it: copy the segment first if its events matter)" : ""),
                                               orgs: orgs))
                    guard let resume else { break scanning }
                    // Carry on from the next intact batch so later damage is reported too.
                    scanner.offset = resume
                    var probe = SegmentScanner(handle: h, fileSize: size, offset: resume)
                    if case .batch(let nb) = try probe.next(data: nil) {
                        expectSeq = nb.header.firstSeq
                        prevHash = nb.header.prevHash
                    }
                }
            }
            // The index is derived; a mismatch is a note, not a fault.
            if let ih = try? fs.open(paths.indexFile(first), mode: .readOnly) {
                if let idx = try? SegmentIndexFile(handle: ih) {
                    if idx.coveredBytes > size || (si < segments.count - 1 && (idx.nextSeq != expectSeq || idx.lastHash != prevHash)) {
                        report.notes.append("index \(Format.indexName(first)) does not match its segment; it is rebuilt on the next open")
                    }
                } else {
                    report.notes.append("index \(Format.indexName(first)) is unreadable; it is rebuilt on the next open")
                }
            }
        }
        report.lastSeq = expectSeq - 1
        report.headHash = prevHash.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        return report
    }

    /// Whether `bytes` (shorter than a segment header) are the start of the header the writer
    /// writes for the segment starting at `firstSeq`.
    static func isSegmentHeaderPrefix(_ bytes: [UInt8], firstSeq: UInt64) -> Bool {
        var w = ByteWriter(capacity: 24)
        w.u32(Format.segmentFrameMagic)
        w.u32(UInt32(Format.segmentHeaderPayloadBytes))
        w.u32(Format.segmentMagic)
        w.u16(Format.version)
        w.u16(0)
        w.u64(firstSeq)
        return bytes.count < Format.segmentHeaderBytes && zip(bytes, w.bytes).allSatisfy { $0 == $1 }
    }

    public func stats() throws -> LogStats {
        var stats = LogStats()
        let segments = try paths.listSegments(fs)
        let dict = try dictionary()
        stats.dictionary = dict != nil
        stats.segments = segments.count
        for (i, first) in segments.enumerated() {
            let seg = try SegmentReader(fs: fs, paths: paths, firstSeq: first, isLast: i == segments.count - 1, dictID: dict?.id ?? 0)
            defer { seg.close() }
            stats.fileBytes += seg.size
            var tailStart = UInt64(Format.segmentHeaderBytes)
            if let idx = seg.index {
                stats.events += idx.eventCount
                stats.batches += idx.batchCount
                stats.rawBytes += idx.rawBytes
                stats.compressedBytes += idx.compressedBytes
                for o in try idx.orgDirectory() { stats.orgs[o.name, default: 0] += o.eventCount }
                for t in try idx.types() { stats.types.insert(t.name) }
                tailStart = idx.coveredBytes
            }
            var scanner = SegmentScanner(handle: seg.handle, fileSize: seg.size, offset: tailStart)
            while case .batch(let b) = try scanner.next(data: nil) {
                stats.events += UInt64(b.header.eventCount)
                stats.batches += 1
                stats.compressedBytes += b.header.dataBytes
                for f in b.header.frames {
                    stats.rawBytes += UInt64(f.rawBytes)
                    stats.orgs[b.header.strings[Int(f.org)], default: 0] += UInt64(f.eventCount)
                }
                for e in b.header.events { stats.types.insert(b.header.strings[Int(e.type)]) }
            }
        }
        if stats.events > 0, let first = segments.first {
            stats.firstSeq = first
            stats.lastSeq = first + stats.events - 1
        }
        return stats
    }
}
