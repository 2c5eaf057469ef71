// libFuzzer target: the event log's segment and batch decoding (scripts/fuzz.sh runs it).
//
// Input: one flags byte, then the bytes of a segment file. The segment is put into an in-memory
// log directory (`SimulatedFileSystem`) as `segments/<firstSeq>.lz4` and then
//   1. read with `LogReader.scan` (the reader's batch walk, LZ4 frame decoding, line checks),
//   2. checked with `LogReader.verify()` and `stats()`,
//   3. opened with `EventLog.open` (crash recovery: torn tails cut, damage refused), and when
//      that succeeds, appended to and read again.
// Flags: bit 0 repairs every checksum and the hash chain before the file is stored, so inputs
// get past the CRC-32C and SHA-256 checks and reach the header tables, the LZ4 frames and the
// event lines behind them; bit 1 stores the template log's LZ4 dictionary beside the segment;
// bit 2 names the segment 1 whatever its header says (else it is named after its header).
//
// With PURSER_FUZZ_SEEDS=<dir> set, the target writes seed inputs (segments of real logs) there
// on its first run.
import CLibFuzzer
import CPurserSupport
import Crypto
import EventLog
import Foundation
import Logging

private let quiet = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
private let dir = "/log"

/// Segments and the dictionary of real logs, written once through the real writer.
private struct Template {
    var dictionary: [UInt8]
    var segments: [(name: String, bytes: [UInt8], plain: Bool)] = []
}

private let template: Template = {
    var dictionary: [UInt8] = []
    var segments: [(String, [UInt8], Bool)] = []
    for compression in [EventLogOptions.Compression.dictionary, .plain] {
        let fs = SimulatedFileSystem()
        var options = EventLogOptions()
        options.compression = compression
        options.segmentBytesMax = 2048
        do {
            let log = try EventLog.open(directory: dir, options: options, fileSystem: fs, logger: quiet)
            for round in 0..<6 {
                var drafts: [EventDraft] = []
                for i in 0..<(round + 1) {
                    let org = ["haff", "acme", "zeta"][i % 3]
                    let text = "Wann ist der nächste SBF-Kurs? \(round)/\(i) \\\"quoted\\\" ü€"
                    drafts.append(EventDraft(org: org, stream: "session:s\(i)", type: i % 2 == 0 ? "message.received" : "llm.called",
                                             data: Array(#"{"channel":"whatsapp","text":"\#(text)"}"#.utf8),
                                             actor: .init(.customer, "+49170123456\(i)"), timestampMs: 1_764_000_000_000 + Int64(round * 10 + i)))
                }
                _ = try log.appendSync(drafts)
            }
            log.close()
        } catch {
            fatalError("cannot write the template log: \(error)")
        }
        if compression == .dictionary { dictionary = fs.contents(dir + "/lz4.dict") ?? [] }
        for name in (try? fs.list(dir + "/segments"))?.sorted() ?? [] {
            segments.append((name, fs.contents(dir + "/segments/" + name) ?? [], compression == .plain))
        }
    }
    return Template(dictionary: dictionary, segments: segments.map { (name: $0.0, bytes: $0.1, plain: $0.2) })
}()

// MARK: Checksum repair

private func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}

private func u64(_ b: [UInt8], _ at: Int) -> UInt64 {
    UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32
}

private func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
    for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
}

private func crc(_ b: [UInt8], _ range: Range<Int>) -> UInt32 {
    b.withUnsafeBytes { purser_crc32c(0, $0.baseAddress! + range.lowerBound, range.count) }
}

/// Rewrites the segment header's CRC and, batch by batch, the data CRC, the previous-batch hash
/// and the header CRC, so only the structure of the input decides what the decoder sees
/// (eventlog/FORMAT.md gives the offsets).
private func repairChecksums(_ b: inout [UInt8]) {
    guard b.count >= 76, u32(b, 0) == 0x184D_2A50 else { return }
    put32(&b, 72, crc(b, 8..<72))
    var chain = Array(b[32..<64])
    var at = 76
    while at + 8 <= b.count, u32(b, at) == 0x184D_2A51 {
        let size = Int(u32(b, at + 4))
        let p = at + 8
        guard size >= 100, size <= b.count - p else { return }
        let dataBytes = u64(b, p + 32)
        let dataStart = p + size
        if dataBytes <= UInt64(b.count - dataStart) {
            put32(&b, p + 28, crc(b, dataStart..<(dataStart + Int(dataBytes))))
        }
        b.replaceSubrange((p + 64)..<(p + 96), with: chain)
        put32(&b, p + size - 4, crc(b, p..<(p + size - 4)))
        chain = Array(SHA256.hash(data: b[p..<(p + size)]))
        guard dataBytes <= UInt64(b.count - dataStart) else { return }
        at = dataStart + Int(dataBytes)
    }
}

// MARK: Seeds

private func writeSeeds(to path: String) {
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    var n = 0
    func seed(_ flags: UInt8, _ bytes: [UInt8]) {
        n += 1
        _ = FileManager.default.createFile(atPath: "\(path)/seed-\(n)", contents: Data([flags] + bytes))
    }
    for s in template.segments {
        let dictFlag: UInt8 = s.plain ? 0 : 2
        seed(dictFlag, s.bytes)
        seed(dictFlag | 1, s.bytes)
        seed(dictFlag | 1, Array(s.bytes.prefix(s.bytes.count - 7)))  // torn tail
        seed(dictFlag | 1 | 4, s.bytes)
    }
}

// MARK: The target

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    if count == 0, let seeds = ProcessInfo.processInfo.environment["PURSER_FUZZ_SEEDS"] { writeSeeds(to: seeds) }
    guard count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let flags = input[0]
    var segment = Array(input[1...])
    if flags & 1 != 0 { repairChecksums(&segment) }

    var firstSeq: UInt64 = 1
    if flags & 4 == 0, segment.count >= 24 { firstSeq = max(1, u64(segment, 16)) }
    let digits = String(firstSeq)
    let name = String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".lz4"

    let fs = SimulatedFileSystem()
    try? fs.createDirectory(dir)
    try? fs.createDirectory(dir + "/segments")
    try? fs.createDirectory(dir + "/index")
    if flags & 2 != 0 { fs.setContents(dir + "/lz4.dict", template.dictionary) }
    fs.setContents(dir + "/segments/" + name, segment)

    var seen = 0
    let reader = LogReader(directory: dir, fileSystem: fs)
    _ = try? reader.scan(LogReader.Filter()) { record in
        seen &+= record.jsonBytes.count
        return true
    }
    _ = try? reader.scan(LogReader.Filter(org: "haff", typePrefix: "message.", fromSeq: 3)) { _ in true }
    if let report = try? reader.verify() { seen &+= report.faults.count }
    if let stats = try? reader.stats() { seen &+= stats.batches }

    if let log = try? EventLog.open(directory: dir, fileSystem: fs, logger: quiet) {
        _ = try? log.appendSync([EventDraft(org: "haff", stream: "session:fuzz", type: "message.received",
                                            data: Array(#"{"text":"after recovery"}"#.utf8), timestampMs: 1_764_000_000_000)])
        log.close()
        _ = try? LogReader(directory: dir, fileSystem: fs).scan(LogReader.Filter()) { _ in true }
    }
    return seen < 0 ? 1 : 0
}

// MARK: Entry

// SwiftPM links executables with `--defsym main=FuzzEventLog_main`, so libFuzzer's own `main` is not
// used: this is the program's entry, and it hands control to libFuzzer's driver.
@_cdecl("FuzzEventLog_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        // libFuzzer may pass no buffer for the empty input.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { empty in
            fuzz(UnsafeRawPointer(data ?? UnsafePointer(empty.baseAddress!)), size)
        }
    }
}
