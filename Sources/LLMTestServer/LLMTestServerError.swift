import Foundation

/// The one error type of `LLMTestServer`.
public struct LLMTestServerError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// A socket, bind or listen call failed.
        case socket = "testserver.socket"
        /// `start()` was called twice, or after `stop()`.
        case state = "testserver.state"
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// An error for the failed system call `call`, with `errno` as the cause.
    static func system(_ call: String, _ what: String) -> LLMTestServerError {
        let number = errno
        return LLMTestServerError(.socket, "\(what): \(call) failed: \(String(cString: strerror(number)))",
                                  cause: POSIXError(POSIXErrorCode(rawValue: number) ?? .EIO))
    }

    public var description: String {
        var text = "\(message) [\(code.rawValue)]"
        if let cause { text += "\n  caused by: \(cause)" }
        return text
    }
}
