import Foundation
import PurserCore
import PurserTestSupport
import Testing

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

/// Whether the suites that need a PostgreSQL server run: with `PURSER_TEST_DATABASE_URL`, and under
/// CI (where its absence then fails them).
let postgresTestsEnabled = ProcessInfo.processInfo.environment["PURSER_TEST_DATABASE_URL"] != nil
    || ProcessInfo.processInfo.environment["CI"] != nil

/// A database of its own on the test server, made with psql; its URL.
func freshDatabase() throws -> String {
    guard let server = ProcessInfo.processInfo.environment["PURSER_TEST_DATABASE_URL"] else {
        Issue.record("PURSER_TEST_DATABASE_URL is not set, and CI is")
        throw CancellationError()
    }
    let name = "purser_e2e_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
    let psql = try runProcess("/usr/bin/env", ["psql", "-q", "-v", "ON_ERROR_STOP=1", server, "-c", "CREATE DATABASE \(name)"])
    #expect(psql.status == 0, "\(psql.stderr)")
    // The server's URL names its own database last: swap that for the new one.
    guard let slash = server.lastIndex(of: "/") else { throw CancellationError() }
    return server[..<slash] + "/\(name)"
}

/// Runs a shell command line; its stdout (for `lz4` and `psql` beside the binary under test).
func shell(_ command: String) throws -> String {
    let result = try runProcess("/bin/sh", ["-c", command])
    #expect(result.status == 0, "\(command): \(result.stderr)")
    return result.stdout
}
