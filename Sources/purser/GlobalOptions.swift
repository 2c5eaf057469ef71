import ArgumentParser
import Foundation
import Logging

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

    static func json(_ object: [String: Any]) {
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
            FileHandle.standardOutput.write(data + Data([10]))
        }
    }
}

/// Exit statuses (docs/CLI.md, "Exit status").
enum Exit {
    static let failure = ExitCode(1)
    static let invalidInput = ExitCode(2)
}
