import Foundation
import Logging
@testable import EventLog
import PurserCore

/// A fresh temporary directory, removed when the value goes away.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "purser-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A small deterministic generator so failures reproduce from their seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func draft(org: String = "haff", stream: String = "session:s1", type: String = "message.received",
           text: String = "Wann ist der nächste SBF-Kurs?", id: String? = nil) -> EventDraft {
    let data = #"{"channel":"whatsapp","text":"# + jsonString(text) + "}"
    return EventDraft(org: org, stream: stream, type: type, data: Array(data.utf8), actor: Actor(.customer, "+491701234567"), id: id)
}

func jsonString(_ s: String) -> String {
    var out: [UInt8] = []
    JSONBytes.appendString(s, to: &out)
    return String(decoding: out, as: UTF8.self)
}

func parseObject(_ bytes: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
}

/// Runs a command and returns (status, stdout, stderr).
@discardableResult
func run(_ exe: String, _ args: [String], stdin: Data? = nil) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    if let stdin { inp.fileHandleForWriting.write(stdin) }
    try inp.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Opens a log with a logger that stays quiet (fault tests provoke many warnings on purpose).
func openLog(directory: String, options: EventLogOptions = EventLogOptions(),
             fileSystem: any FileSystem = PosixFileSystem()) throws -> EventLog {
    try EventLog.open(directory: directory, options: options, fileSystem: fileSystem,
                      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
}
