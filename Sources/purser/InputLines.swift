import Channels
import Foundation
import PurserCore

/// The lines of a file or of standard input (`-`), read as they arrive with bounded memory:
/// Channels' `LineReader`, the one line reader of the engine and the command line.
enum InputLines {
    /// Opens `path` (`-` for standard input); `name` is what messages call it.
    static func open(_ path: String, lineBytesMax: Int) throws -> (name: String, lines: LineReader) {
        if path == "-" {
            return ("stdin", LineReader(source: FileHandleSource(.standardInput, name: "stdin"), lineBytesMax: lineBytesMax))
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CLIError(.readFailed, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        return (path, LineReader(source: FileHandleSource(handle, name: path), lineBytesMax: lineBytesMax))
    }
}

/// The codes of `CLIError`.
enum CLIErrorCode: String, Sendable {
    /// A file or standard input named on the command line cannot be opened or read.
    case readFailed = "read_failed"
}

/// An error of the command line itself (the libraries' errors pass through as they are).
typealias CLIError = CodedError<CLIErrorCode>
