import Foundation
import PurserCore

/// The codes of `HTTPServerError`.
public enum HTTPServerErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The token store or another file could not be read or written.
    case storage
    /// The server could not start (the port is taken, the address is invalid).
    case startup
    /// A configuration value is unusable.
    case configuration
    /// An org id that breaks the org id grammar or is a case variant of an existing org.
    case invalidOrg = "invalid_org"
}

/// The one error type of `PurserHTTP`: a stable code, a message a person can act on, the cause.
public typealias HTTPServerError = CodedError<HTTPServerErrorCode>
