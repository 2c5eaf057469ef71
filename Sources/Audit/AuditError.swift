import Foundation
import PurserCore

/// The codes of `AuditError`.
public enum AuditErrorCode: String, Sendable, Hashable, CaseIterable {
    /// There is no event log in the directory given.
    case noLog = "audit.no_log"
    /// The event log could not be read (beyond what the report records as faults).
    case log = "audit.log"
    /// A `--since`/`--until` bound is neither a seq nor an ISO-8601 timestamp.
    case invalidBound = "audit.invalid_bound"
    /// The proposed (what-if) configuration could not be read or is invalid.
    case invalidConfig = "audit.invalid_config"
}

/// The one error type of the audit module.
///
/// `code` is stable for programs, `message` says what happened and what to do about it, and
/// `cause` keeps the underlying failure (a log error, a payload error).
public typealias AuditError = CodedError<AuditErrorCode>
