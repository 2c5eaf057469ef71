import ArgumentParser
import Foundation
import Logging
import PurserCore

/// Flags every command shares. They may also come before the subcommand (`purser --data DIR agent
/// list`); `GlobalArguments.hoist` moves them to where the parser looks for them.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Data directory (default: $PURSER_DATA, else ./purser-data).", valueName: "DIR"))
    var data: String?

    @Option(name: .long, help: ArgumentHelp("Log level on stderr: trace, debug, info, notice, warning, error, critical (default: $PURSER_LOG_LEVEL, else notice; info for read-model progress).", valueName: "LEVEL"))
    var logLevel: Logger.Level?

    @Option(name: .long, help: ArgumentHelp("Log lines on stderr as text, or json: one object per line, for servers (default: $PURSER_LOG_FORMAT, else text).", valueName: "FORMAT"))
    var logFormat: LogFormat?

    var dataDirectory: String {
        if let data { return data }
        if let env = ProcessInfo.processInfo.environment["PURSER_DATA"], !env.isEmpty { return env }
        return "./purser-data"
    }

    var eventLogDirectory: String { dataDirectory + "/eventlog" }
}

/// Output for programs goes to stdout as JSON Lines; messages for people go to stderr.
enum Output {
    static func line(_ s: String) {
        FileHandle.standardOutput.write(Data((s + "\n").utf8))
    }

    static func note(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }

    /// One JSON line, keys sorted.
    static func json(_ fields: [String: any OutputField]) {
        line(jsonLine(fields))
    }
}

/// One JSON object on one line, keys sorted, for the commands' output.
func jsonLine(_ fields: [String: any OutputField]) -> String {
    JSONValue.object(fields.mapValues(\.json)).serialized()
}

/// A value a command writes as a field of its output line, so a line can be written as a
/// dictionary literal of plain Swift values (`["org": org, "seq": seq, "firstSeq": nil]`).
protocol OutputField {
    var json: JSONValue { get }
}

extension String: OutputField { var json: JSONValue { .string(self) } }
extension Bool: OutputField { var json: JSONValue { .bool(self) } }
extension Double: OutputField { var json: JSONValue { .number(self) } }
extension Int: OutputField { var json: JSONValue { .number(Double(self)) } }
extension UInt64: OutputField { var json: JSONValue { .number(Double(self)) } }
extension JSONValue: OutputField { var json: JSONValue { self } }

extension Optional: OutputField where Wrapped: OutputField {
    /// `null` when absent: an output line names every field it has.
    var json: JSONValue { map(\.json) ?? .null }
}

extension Array: OutputField where Element: OutputField {
    var json: JSONValue { .array(map(\.json)) }
}

extension Dictionary: OutputField where Key == String, Value: OutputField {
    var json: JSONValue { .object(mapValues(\.json)) }
}

/// Exit statuses (docs/CLI.md, "Exit status").
enum Exit {
    static let failure = ExitCode(1)
    static let invalidInput = ExitCode(2)
}
