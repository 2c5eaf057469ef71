#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The shape every module's one error type has: a stable snake_case `code` for programs, a
/// `message` a person can act on, and the underlying `cause` when another library failed.
///
/// The text form is written once, here: `message [code]`, then any `details` (one per line,
/// indented), then `caused by: …`. A module adds its own fields (validation problems, an HTTP
/// status) through `details` instead of its own `description`.
public protocol PurserError: Error, Sendable, CustomStringConvertible {
    associatedtype Code: RawRepresentable, Sendable where Code.RawValue == String
    var code: Code { get }
    var message: String { get }
    var cause: (any Error)? { get }
    /// Further facts, each printed on its own indented line; none by default.
    var details: [String] { get }
}

extension PurserError {
    public var details: [String] { [] }

    public var description: String {
        var text = "\(message) [\(code.rawValue)]"
        for detail in details { text += "\n  - \(detail)" }
        if let cause { text += "\n  caused by: \(cause)" }
        return text
    }
}

/// An `errno` from a system call, with the call and the path it concerned: the cause the file
/// helpers of this module throw, which each module wraps in its own error.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var path: String
    public var errno: Int32

    public init(call: String, path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "\(call) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The error of a module whose failures are fully described by a code, a message and a cause:
/// the module declares its codes and names the type, `public typealias ChannelError =
/// CodedError<ChannelErrorCode>`, instead of repeating these fields and this initializer.
/// Modules whose errors carry more (an HTTP status, a field, validation problems) conform to
/// `PurserError` with their own struct.
public struct CodedError<Code: RawRepresentable & Sendable>: PurserError where Code.RawValue == String {
    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}
