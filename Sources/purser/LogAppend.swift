import ArgumentParser
import Channels
import EventLog
import Foundation

struct LogAppend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append JSON Lines envelopes (without seq) to the log; prints one JSON line per input line.",
        discussion: """
        Each input line is an event envelope as in eventlog/EVENTS.md minus "seq": org, stream, type and data are
        required; id (default: a new ULID), ts (default: now), v (default 1), actor (default system),
        correlationId and causationId are optional. For each line, stdout gets {"line":N,"seq":S} (plus
        "duplicate":true when the id was already stored) or {"line":N,"error":{...},"raw":"..."}.
        Lines are appended as they arrive; a bad line does not stop the others. Exit status 2 if any line
        was rejected. With --database (or PURSER_DATABASE_URL) the lines go to that PostgreSQL store instead,
        and "seq" is the event's position in its org.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("Files of JSON Lines; - or nothing for standard input.", valueName: "FILE"))
    var files: [String] = []

    func validate() throws {
        _ = try database.given()
    }

    func run() throws {
        let log = try CommandStore.open(global, database)
        defer { log.close() }
        var rejected = 0
        let out = BufferedOutput()
        for file in files.isEmpty ? ["-"] : files {
            let input = try InputLines.open(file, lineBytesMax: EventLimits.eventBytesMax + 4096)
            while let lines = try input.lines.nextLines() {
                var drafts: [EventDraft] = []
                var lineOf: [Int] = []
                func reject(_ line: InputLine, _ code: String, _ message: String) {
                    rejected += 1
                    let where_ = files.count > 1 ? "\(input.name):\(line.number)" : "line \(line.number)"
                    Output.note("\(where_): \(message)")
                    var obj: [String: any OutputField] = ["line": line.number, "error": ["code": code, "message": message],
                                              "raw": String(decoding: line.isTruncated ? line.bytes.prefix(1024) : line.bytesWithoutCarriageReturn, as: UTF8.self)]
                    if files.count > 1 { obj["file"] = input.name }
                    out.write(jsonLine(obj))
                }
                for line in lines {
                    if line.bytesWithoutCarriageReturn.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                    if line.isTruncated {
                        reject(line, LogError.Code.invalidEvent.rawValue, "line is longer than \(EventLimits.eventBytesMax + 4096) bytes")
                        continue
                    }
                    do {
                        let draft = try EnvelopeParser.parse(Array(line.bytesWithoutCarriageReturn))
                        drafts.append(draft)
                        lineOf.append(line.number)
                    } catch let e as LogError {
                        reject(line, e.code.rawValue, e.message)
                    }
                }
                // One append per chunk of lines (bounded), so a pipe is acknowledged as it flows.
                var start = 0
                while start < drafts.count {
                    let end = min(drafts.count, start + 4096)
                    let slice = Array(drafts[start..<end])
                    do {
                        let result = try log.append(slice)
                        for (k, seq) in result.seqs.enumerated() {
                            var obj: [String: any OutputField] = ["line": lineOf[start + k], "seq": seq]
                            if result.duplicates[k] { obj["duplicate"] = true }
                            if files.count > 1 { obj["file"] = input.name }
                            out.write(jsonLine(obj))
                        }
                    } catch let e as LogError where e.code == .invalidEvent {
                        // One bad event fails its append; retry the lines one by one so the rest go in.
                        for k in start..<end {
                            do {
                                let r = try log.append([drafts[k]])
                                var obj: [String: any OutputField] = ["line": lineOf[k], "seq": r.seqs[0]]
                                if r.duplicates[0] { obj["duplicate"] = true }
                                out.write(jsonLine(obj))
                            } catch let e as LogError where e.code == .invalidEvent {
                                rejected += 1
                                Output.note("line \(lineOf[k]): \(e.message)")
                                out.write(jsonLine(["line": lineOf[k], "error": ["code": e.code.rawValue, "message": e.message]]))
                            }
                        }
                    }
                    start = end
                }
                out.flush()
            }
        }
        out.flush()
        if rejected > 0 {
            Output.note("\(rejected) line(s) rejected")
            throw Exit.invalidInput
        }
    }
}

