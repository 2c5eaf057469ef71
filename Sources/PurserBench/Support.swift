import CSQLite
import Foundation

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A plain SQLite table, the baseline: events as rows, WAL, synchronous=FULL.
final class SQLiteBaseline {
    var db: OpaquePointer?
    var insert: OpaquePointer?

    init(path: String) {
        precondition(sqlite3_open(path, &db) == SQLITE_OK)
        exec("PRAGMA journal_mode=WAL")
        exec("PRAGMA synchronous=FULL")
        exec("PRAGMA busy_timeout=60000")
        exec("CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, org TEXT, stream TEXT, type TEXT, json BLOB)")
        precondition(sqlite3_prepare_v2(db, "INSERT INTO events(id, org, stream, type, json) VALUES(?,?,?,?,?)", -1, &insert, nil) == SQLITE_OK)
    }

    deinit {
        sqlite3_finalize(insert)
        sqlite3_close(db)
    }

    func exec(_ sql: String) {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
            fatalError("sqlite: \(String(cString: err!)) in \(sql)")
        }
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func insertRow(id: String, org: String, stream: String, type: String, json: [UInt8]) {
        sqlite3_reset(insert)
        sqlite3_bind_text(insert, 1, id, -1, SQLiteBaseline.transient)
        sqlite3_bind_text(insert, 2, org, -1, SQLiteBaseline.transient)
        sqlite3_bind_text(insert, 3, stream, -1, SQLiteBaseline.transient)
        sqlite3_bind_text(insert, 4, type, -1, SQLiteBaseline.transient)
        _ = json.withUnsafeBytes { sqlite3_bind_blob(insert, 5, $0.baseAddress, Int32($0.count), SQLiteBaseline.transient) }
        var rc = sqlite3_step(insert)
        while rc == SQLITE_BUSY { usleep(100); sqlite3_reset(insert); rc = sqlite3_step(insert) }
        precondition(rc == SQLITE_DONE, "sqlite insert failed: \(rc)")
    }
}

func formatRate(_ v: Double) -> String {
    if v >= 1_000_000 { return String(format: "%.2fM", v / 1_000_000) }
    if v >= 1000 { return String(format: "%.1fk", v / 1000) }
    return String(format: "%.0f", v)
}

/// Runs a child under /usr/bin/time and returns its wall time and peak RSS (KiB).
func peakRSSOfChild(_ exe: String, _ args: [String]) -> (seconds: Double, maxRSSKiB: Int) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
    p.arguments = ["-f", "%M"] + [exe] + args
    p.standardOutput = FileHandle.nullDevice
    let err = Pipe()
    p.standardError = err
    let t0 = now()
    try! p.run()
    let data = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let secs = now() - t0
    let text = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "0"
    return (secs, Int(text.trimmingCharacters(in: .whitespaces)) ?? -1)
}

func runQuiet(_ exe: String, _ args: [String], stdoutTo: String = "/dev/null") -> Double {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    p.standardOutput = FileHandle(forWritingAtPath: stdoutTo)
    let t0 = now()
    try! p.run()
    p.waitUntilExit()
    return now() - t0
}
