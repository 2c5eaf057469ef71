import Foundation
import PurserCore

/// Reads lines from a file or standard input with read(2), handing them over as soon as a
/// chunk arrives: a pipe feeding `purser log append -` sees its lines acknowledged while it is
/// still writing, and memory stays bounded by the chunk and one line.
final class InputLines {
    let name: String
    private let fd: Int32
    private let ownsFD: Bool
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)
    private(set) var lineNumber = 0
    private var eof = false
    /// A line longer than this is cut off and reported rather than held whole.
    let lineBytesMax: Int

    init(path: String, lineBytesMax: Int) throws {
        if path == "-" {
            fd = 0
            ownsFD = false
            name = "stdin"
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw CLIError(.readFailed, "cannot open \(path): \(String(cString: strerror(errno)))") }
            ownsFD = true
            name = path
        }
        self.lineBytesMax = lineBytesMax
    }

    deinit { if ownsFD { close(fd) } }

    struct Line {
        var number: Int
        var bytes: [UInt8]
        /// The line was longer than `lineBytesMax`; `bytes` holds its start.
        var truncated: Bool
    }

    /// The complete lines available after one read (blocking only when none are buffered);
    /// nil at the end of the input.
    func nextLines() throws -> [Line]? {
        while true {
            var lines: [Line] = []
            var start = 0
            var i = 0
            while i < buffer.count {
                if buffer[i] == 10 {
                    lines.append(makeLine(buffer[start..<i]))
                    start = i + 1
                }
                i += 1
            }
            if start > 0 { buffer.removeSubrange(0..<start) }
            if buffer.count > lineBytesMax {
                // Too long: report the start and skip to the end of the line.
                lines.append(Line(number: lineNumber + 1, bytes: Array(buffer.prefix(1024)), truncated: true))
                lineNumber += 1
                buffer.removeAll()
                try skipToNewline()
            }
            if !lines.isEmpty { return lines }
            if eof {
                if buffer.isEmpty { return nil }
                let last = makeLine(buffer[...])
                buffer.removeAll()
                return [last]
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError(.readFailed, "cannot read \(name): \(String(cString: strerror(errno)))")
            }
            if n == 0 { eof = true } else { buffer.append(contentsOf: chunk[0..<n]) }
        }
    }

    private func makeLine(_ bytes: ArraySlice<UInt8>) -> Line {
        lineNumber += 1
        var b = Array(bytes)
        if b.last == 13 { b.removeLast() }
        return Line(number: lineNumber, bytes: b, truncated: false)
    }

    private func skipToNewline() throws {
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError(.readFailed, "cannot read \(name): \(String(cString: strerror(errno)))")
            }
            if n == 0 { eof = true; return }
            if let nl = chunk[0..<n].firstIndex(of: 10) {
                buffer.append(contentsOf: chunk[(nl + 1)..<n])
                return
            }
        }
    }
}

/// An error of the command line itself (the libraries' errors pass through as they are).
struct CLIError: PurserError {
    enum Code: String, Sendable {
        /// A file or standard input named on the command line cannot be opened or read.
        case readFailed = "read_failed"
    }

    var code: Code
    var message: String
    var cause: (any Error)?

    init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}
