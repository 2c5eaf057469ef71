import Foundation
import PurserCore
import PurserTestSupport

/// The `purser` binary built next to the test bundle (or $PURSER_BIN).
func purserBinary() -> String {
    if let p = ProcessInfo.processInfo.environment["PURSER_BIN"] { return p }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("purser").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/purser").path
}

/// The sample inputs kept in the repository, `Tests/Fixtures/samples`.
func samplesDirectory() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/samples").path
}

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var lines: [[String: Any]] {
        stdout.split(separator: "\n").compactMap { JSONValue.foundationObject(line: $0.utf8) }
    }
}

/// Runs `purser` with arguments (then `--data DIR`) and optional stdin.
@discardableResult
func purser(_ args: [String], data: String, stdin: String? = nil, env: [String: String] = [:]) throws -> RunResult {
    try purser(exactly: args + ["--data", data], stdin: stdin, env: env)
}

/// Runs `purser` with exactly these arguments, for tests of where the global options may go.
@discardableResult
func purser(exactly args: [String], stdin: String? = nil, env: [String: String] = [:]) throws -> RunResult {
    let result = try runProcess(purserBinary(), args, stdin: stdin.map { Data($0.utf8) }, environment: env)
    return RunResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
}
