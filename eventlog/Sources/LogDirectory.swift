import PurserCore

/// Where a log's files live inside its directory:
///
///     <dir>/LOCK                      writer lock (holds the writer's pid)
///     <dir>/lz4.dict                  the LZ4 dictionary (absent for logs without one)
///     <dir>/segments/<firstSeq>.lz4   segment files (LZ4 frame streams)
///     <dir>/index/<firstSeq>.idx      derived per-segment indexes
struct LogPaths: Sendable {
    let dir: String
    var segments: String { dir + "/segments" }
    var index: String { dir + "/index" }
    var dictionary: String { dir + "/lz4.dict" }
    var lock: String { dir + "/LOCK" }
    func segment(_ firstSeq: UInt64) -> String { segments + "/" + Format.segmentName(firstSeq) }
    func indexFile(_ firstSeq: UInt64) -> String { index + "/" + Format.indexName(firstSeq) }
}

struct LoadedDictionary: Sendable {
    var bytes: [UInt8]
    var id: UInt32

    static func id(of bytes: [UInt8]) -> UInt32 {
        let c = crc32c(bytes)
        return c == 0 ? 1 : c
    }
}

extension LogPaths {
    /// First seqs of the segments, ascending.
    func listSegments(_ fs: any FileSystem) throws -> [UInt64] {
        guard fs.exists(segments) else { return [] }
        return try fs.list(segments).compactMap(Format.parseSegmentName).sorted()
    }

    func loadDictionary(_ fs: any FileSystem) throws -> LoadedDictionary? {
        guard fs.exists(dictionary) else { return nil }
        let bytes = try fs.readFile(dictionary)
        return LoadedDictionary(bytes: bytes, id: LoadedDictionary.id(of: bytes))
    }
}

/// Pulls the event id out of a stored envelope line (`{"seq":N,"id":"...",`), which the log's
/// own encoder always writes in that order.
func storedEventID(_ line: UnsafeRawBufferPointer) -> String? {
    var i = 0
    // Skip `{"seq":digits,`
    while i < line.count, line[i] != 44 { i += 1 }
    let prefix: [UInt8] = Array(#","id":""#.utf8)
    guard i + prefix.count < line.count else { return nil }
    for k in 0..<prefix.count where line[i + k] != prefix[k] { return nil }
    let start = i + prefix.count - 1
    var j = start + 1
    while j < line.count {
        if line[j] == 92 { j += 2; continue }
        if line[j] == 34 { break }
        j += 1
    }
    guard j < line.count else { return nil }
    return JSONBytes.decodeString(line, start..<(j + 1))
}

/// Parses the seq at the start of a stored line; nil if the line does not start as the log writes it.
@inline(__always)
func storedSeq(_ line: UnsafeRawBufferPointer) -> UInt64? {
    // {"seq":
    guard line.count > 8, line[0] == 123, line[1] == 34, line[2] == 115, line[3] == 101, line[4] == 113,
          line[5] == 34, line[6] == 58 else { return nil }
    var v: UInt64 = 0
    var i = 7
    while i < line.count, line[i] >= 48, line[i] <= 57 {
        v = v &* 10 &+ UInt64(line[i] - 48)
        i += 1
    }
    return i > 7 && i < line.count && line[i] == 44 ? v : nil
}
