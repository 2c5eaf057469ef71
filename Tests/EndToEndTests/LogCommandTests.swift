import Foundation
import PurserTestSupport
import PurserCore
import Testing

@Suite struct LogCommandTests {
    @Test func appendReportsBadLinesByNumberAndAppendsTheRest() throws {
        let dir = TempDir()
        let input = """
        {"org":"haff","stream":"session:a","type":"message.received","data":{"text":"Wann ist der nächste SBF-Kurs?"}}
        {"org":"haff","stream":"session:a","type":"message.received","seq":5,"data":{}}
        this is not json
        {"org":"haff","stream":"session:a","type":"message.sent","data":{"text":"Samstag"}}
        """
        let r = try purser(["log", "append", "-"], data: dir.path, stdin: input)
        #expect(r.status == 2)
        #expect(r.stderr.contains("line 2:") && r.stderr.contains("seq"))
        #expect(r.stderr.contains("line 3:"))
        let lines = r.lines
        #expect(lines.filter { $0["seq"] != nil }.map { $0["line"] as? Int } == [1, 4])
        #expect(lines.first { $0["line"] as? Int == 3 }?["raw"] as? String == "this is not json")
        let cat = try purser(["log", "cat"], data: dir.path)
        #expect(cat.lines.map { $0["seq"] as? Int } == [1, 2])
        let verify = try purser(["log", "verify"], data: dir.path)
        #expect(verify.status == 0)
        let stats = try purser(["log", "stats"], data: dir.path)
        #expect(stats.lines.first?["events"] as? Int == 2)
    }

    @Test func verifyExitsNonZeroAndNamesTheFault() throws {
        let dir = TempDir()
        var input = ""
        for i in 0..<20 { input += #"{"org":"haff","stream":"s","type":"message.received","data":{"n":\#(i)}}"# + "\n" }
        for _ in 0..<3 { _ = try purser(["log", "append", "-"], data: dir.path, stdin: input) }
        let seg = dir.path + "/eventlog/segments/00000000000000000001.lz4"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: seg))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: seg))
        let r = try purser(["log", "verify"], data: dir.path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("FAULT 00000000000000000001.lz4 @"))
        #expect(r.lines.contains { $0["fault"] != nil && $0["offset"] != nil })
    }

    /// Three appends (three batches, at least) of 20 events each into a fresh log.
    static func logOfThreeAppends(_ dir: TempDir) throws -> String {
        var input = ""
        for i in 0..<20 { input += #"{"org":"haff","stream":"s","type":"message.received","data":{"n":\#(i)}}"# + "\n" }
        for _ in 0..<3 { _ = try purser(["log", "append", "-"], data: dir.path, stdin: input) }
        return dir.path + "/eventlog/segments/00000000000000000001.lz4"
    }

    /// The newest batch cut short, as a crash before its sync leaves it: not damage. verify says
    /// so and exits 0; the next writer cuts the tail and the log verifies clean.
    @Test func verifyAfterACrashReportsTheTornTailAndExitsZero() throws {
        let dir = TempDir()
        let seg = try Self.logOfThreeAppends(dir)
        let before = try purser(["log", "stats"], data: dir.path).lines.first?["events"] as? Int
        #expect(before == 60)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: seg))
        try bytes.prefix(bytes.count - 5).write(to: URL(fileURLWithPath: seg))
        let r = try purser(["log", "verify"], data: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let tail = r.lines.first { $0["tornTail"] != nil }
        let torn = tail?["bytes"] as? Int ?? 0
        #expect(torn > 5)
        #expect(r.stderr.contains("torn tail from an interrupted write, \(torn) bytes, no acknowledged event lost"), "\(r.stderr)")
        #expect(!r.stderr.contains("FAULT"))
        #expect(r.lines.last?["ok"] as? Bool == true)
        let verified = r.lines.last?["events"] as? Int ?? 0
        #expect(verified > 0 && verified < 60)
        // The next writer cuts the torn batch; afterwards there is nothing left to report.
        _ = try purser(["log", "append", "-"], data: dir.path,
                       stdin: #"{"org":"haff","stream":"s","type":"message.received","data":{"n":99}}"# + "\n")
        let after = try purser(["log", "verify"], data: dir.path)
        #expect(after.status == 0)
        #expect(!after.stderr.contains("torn tail"))
        #expect(after.lines.last?["events"] as? Int == verified + 1)
    }

    /// Damage in the middle exits non-zero, also when the log ends in a torn write as well.
    @Test func verifyExitsNonZeroForDamageInTheMiddleEvenWithATornTail() throws {
        let dir = TempDir()
        let seg = try Self.logOfThreeAppends(dir)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: seg))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.prefix(bytes.count - 5).write(to: URL(fileURLWithPath: seg))
        let r = try purser(["log", "verify"], data: dir.path)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("FAULT 00000000000000000001.lz4 @"))
        #expect(r.stderr.contains("log damaged"))
        #expect(r.lines.last?["ok"] as? Bool == false)
    }

    /// A child process appends in a loop and reports each acknowledged seq; it is killed with
    /// SIGKILL at random moments, 20 times; every acknowledged seq survives with its event.
    @Test func sigkillNeverLosesAnAcknowledgedEvent() throws {
        signal(SIGPIPE, SIG_IGN) // the feeder writes into a pipe whose reader gets killed
        let dir = TempDir()
        var acked: [String: Int] = [:] // event id -> seq
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: purserBinary())
            p.arguments = ["log", "append", "-", "--data", dir.path]
            let inp = Pipe(), out = Pipe()
            p.standardInput = inp
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let stop = StopFlag()
            let feeder = Thread {
                var n = 0
                while !stop.value {
                    var chunk = ""
                    for _ in 0..<Int.random(in: 1...50) {
                        n += 1
                        chunk += #"{"id":"r\#(round)-\#(n)","org":"org\#(n % 7)","stream":"session:\#(n % 13)","type":"message.received","data":{"text":"Nachricht \#(n) von Runde \#(round)"}}"# + "\n"
                    }
                    do { try inp.fileHandleForWriting.write(contentsOf: Data(chunk.utf8)) } catch { break }
                    usleep(UInt32.random(in: 0...2000))
                }
            }
            feeder.start()
            let lines = LineCollector()
            let reader = Thread {
                var buffer = Data()
                var chunk = [UInt8](repeating: 0, count: 65536)
                let fd = out.fileHandleForReading.fileDescriptor
                while true {
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    buffer.append(contentsOf: chunk[0..<n])
                    while let nl = buffer.firstIndex(of: 10) {
                        lines.append(Data(buffer[buffer.startIndex..<nl]))
                        buffer.removeSubrange(buffer.startIndex...nl)
                    }
                }
                lines.done()
            }
            reader.start()
            // Kill at a random moment after the child is up and acknowledging (a loaded machine
            // can take a while to start a debug build).
            let deadline = Date().addingTimeInterval(20)
            while lines.count == 0 && Date() < deadline { usleep(2000) }
            usleep(UInt32.random(in: 0...250_000, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            stop.value = true
            try? inp.fileHandleForWriting.close()
            lines.wait()
            // Map acknowledged lines back to ids: line N of this round is id r<round>-<N>.
            for obj in lines.objects {
                if let line = obj["line"] as? Int, let seq = obj["seq"] as? Int { acked["r\(round)-\(line)"] = seq }
            }
        }
        #expect(acked.count > 100, "the child acknowledged too little to prove anything")
        let cat = try purser(["log", "cat"], data: dir.path)
        var stored: [String: Int] = [:]
        var seqs: [Int] = []
        for obj in cat.lines {
            stored[obj["id"] as! String] = obj["seq"] as? Int
            seqs.append(obj["seq"] as! Int)
        }
        #expect(seqs == Array(1...seqs.count))
        for (id, seq) in acked { #expect(stored[id] == seq, "acknowledged \(id) at seq \(seq) is \(stored[id].map(String.init) ?? "missing")") }
        let verify = try purser(["log", "verify"], data: dir.path)
        #expect(verify.status == 0, "\(verify.stderr)")
    }
}

final class StopFlag: @unchecked Sendable {
    private let flag = Locked(false)
    var value: Bool {
        get { flag.withLock { $0 } }
        set { flag.withLock { $0 = newValue } }
    }
}

final class LineCollector: @unchecked Sendable {
    private let cond = NSCondition()
    private var items: [Data] = []
    private var finished = false
    func append(_ d: Data) { cond.withLock { items.append(d) } }
    var count: Int { cond.withLock { items.count } }
    func done() { cond.withLock { finished = true; cond.broadcast() } }
    func wait() { cond.lock(); while !finished { cond.wait() }; cond.unlock() }
    var objects: [[String: Any]] {
        cond.withLock { items.compactMap { JSONValue.foundationObject(line: $0) } }
    }
}
