import Foundation
import PurserCore

/// The one error type of `LLM`.
///
/// Every failure carries a stable `code` for programs, a `message` for the person who has to act
/// on it, and the underlying `cause` when another library failed. A call that failed after
/// retries also says how many `attempts` were made and the last HTTP status seen, which is what
/// the pipeline records in `llm.failed` before handing the session to a human.
public struct LLMError: PurserError {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The connection could not be made or broke (DNS, refused, reset, TLS).
        case transport = "llm.transport"
        /// The connect or total timeout elapsed.
        case timeout = "llm.timeout"
        /// The server kept answering 429 until the attempts ran out, or asked to wait longer than
        /// a message may be held.
        case rateLimited = "llm.rate_limited"
        /// The server kept answering 5xx until the attempts ran out.
        case serverError = "llm.server_error"
        /// The server refused the request (4xx other than 408/429): a bad key, an unknown model,
        /// a request it cannot serve. Retrying would not help.
        case rejected = "llm.rejected"
        /// The server answered 2xx with a body that is not a chat completion.
        case invalidResponse = "llm.invalid_response"
        /// The request could not be built (e.g. a URL curl refuses).
        case invalidRequest = "llm.invalid_request"
        /// The calling task was cancelled or the HTTP client was shut down.
        case cancelled = "llm.cancelled"
        /// The environment or a configuration file is unusable.
        case configuration = "llm.configuration"
    }

    public var code: Code
    public var message: String
    /// The HTTP status of the last response, when there was one.
    public var httpStatus: Int?
    /// How many requests were sent before giving up; 0 when none could be sent.
    public var attempts: Int
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, httpStatus: Int? = nil, attempts: Int = 0, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.attempts = attempts
        self.cause = cause
    }

    /// Whether sending the same request again may succeed.
    public var isRetryable: Bool {
        switch code {
        case .transport, .timeout, .rateLimited, .serverError: true
        case .rejected, .invalidResponse, .invalidRequest, .cancelled, .configuration: false
        }
    }

    public var details: [String] {
        var lines: [String] = []
        if let httpStatus { lines.append("HTTP \(httpStatus)") }
        if attempts > 0 { lines.append("after \(attempts) attempt\(attempts == 1 ? "" : "s")") }
        return lines
    }
}
