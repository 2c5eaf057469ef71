import Foundation
import PurserCore

/// The one error type of `LLMTestServer`.
public struct LLMTestServerError: PurserError {
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
}
