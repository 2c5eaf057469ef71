import Foundation
import PurserCore

/// The codes of `LLMTestServerError`.
public enum LLMTestServerErrorCode: String, Sendable, Hashable, CaseIterable {
    /// A socket, bind or listen call failed.
    case socket = "testserver.socket"
    /// `start()` was called twice, or after `stop()`.
    case state = "testserver.state"
}

/// The one error type of `LLMTestServer`.
public typealias LLMTestServerError = CodedError<LLMTestServerErrorCode>

extension CodedError where Code == LLMTestServerErrorCode {
    /// An error for the failed system call `call`, with `errno` as the cause.
    static func system(_ call: String, _ what: String) -> LLMTestServerError {
        let number = errno
        return LLMTestServerError(.socket, "\(what): \(call) failed: \(String(cString: strerror(number)))",
                                  cause: POSIXError(POSIXErrorCode(rawValue: number) ?? .EIO))
    }
}
