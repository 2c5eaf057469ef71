import Foundation
import PurserCore

/// What a finished process left: its exit status and everything it wrote.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` with `arguments` to its end, feeding it `stdin` and capturing both outputs.
///
/// Standard input is written and standard error drained on threads of their own, so a process
/// that writes much to one stream while the other is full cannot deadlock the test.
public func runProcess(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                       environment: [String: String] = [:]) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var merged = ProcessInfo.processInfo.environment
    for (key, value) in environment { merged[key] = value }
    process.environment = merged
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    let writer = Thread {
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
    }
    writer.start()
    let errorDrained = DispatchSemaphore(value: 0)
    let errorBytes = ErrorBytes()
    let reader = Thread {
        errorBytes.data = err.fileHandleForReading.readDataToEndOfFile()
        errorDrained.signal()
    }
    reader.start()
    let outBytes = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    errorDrained.wait()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outBytes, as: UTF8.self),
                         stderr: String(decoding: errorBytes.data, as: UTF8.self))
}

/// Written by the reader thread before it signals, read after the wait.
private final class ErrorBytes: @unchecked Sendable {
    var data = Data()
}

extension JSONValue {
    /// The value in Foundation's shapes (`[String: Any]`, `[Any]`, `NSNumber`, `NSNull`), for the
    /// end-to-end tests that read the command line's output lines with `as? Int` and friends.
    public var foundationObject: Any {
        switch self {
        case .null: NSNull()
        case .bool(let flag): flag
        case .number(let number):
            if number.rounded() == number, abs(number) < 9.007_199_254_740_992e15 { NSNumber(value: Int(number)) } else { NSNumber(value: number) }
        case .string(let text): text
        case .array(let elements): elements.map(\.foundationObject)
        case .object(let members): members.mapValues(\.foundationObject)
        }
    }

    /// One line of JSON as an object in Foundation's shapes; `nil` when it is not a JSON object.
    public static func foundationObject(line: some Collection<UInt8>) -> [String: Any]? {
        (try? JSONValue(parsing: line))?.foundationObject as? [String: Any]
    }
}
