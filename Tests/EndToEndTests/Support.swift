import Foundation
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

final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "purser-e2e-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var lines: [[String: Any]] {
        stdout.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
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
    let p = Process()
    p.executableURL = URL(fileURLWithPath: purserBinary())
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    let writer = Thread {
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? inp.fileHandleForWriting.close()
    }
    writer.start()
    let errData = ErrBox()
    let errThread = Thread { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
    errThread.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while errData.data == nil { usleep(1000) }
    return RunResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: errData.data!, as: UTF8.self))
}

final class ErrBox: @unchecked Sendable { var data: Data? }

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
    let psql = Process()
    psql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    psql.arguments = ["psql", "-q", "-v", "ON_ERROR_STOP=1", server, "-c", "CREATE DATABASE \(name)"]
    try psql.run()
    psql.waitUntilExit()
    #expect(psql.terminationStatus == 0)
    // The server's URL names its own database last: swap that for the new one.
    guard let slash = server.lastIndex(of: "/") else { throw CancellationError() }
    return server[..<slash] + "/\(name)"
}

/// Runs a shell command line; its stdout (for `lz4` and `psql` beside the binary under test).
func shell(_ command: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "\(command)")
    return String(decoding: data, as: UTF8.self)
}
