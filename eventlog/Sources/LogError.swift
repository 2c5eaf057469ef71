import Foundation
import PurserCore

/// The codes of `LogError`.
public enum LogErrorCode: String, Sendable {
    /// Another process holds the data directory's writer lock.
    case locked
    /// An append named a stream version that is no longer current.
    case versionConflict = "version_conflict"
    /// An event could not be appended as given (empty org, oversized, bad JSON, ...).
    case invalidEvent = "invalid_event"
    /// A read or write of the underlying files failed.
    case io
    /// The log is no longer accepting appends after a failed write or sync; reopen it.
    case poisoned
    /// Bytes inside the log (not at its tail) are damaged.
    case corruptMiddle = "corrupt_middle"
    /// A segment, batch or index could not be decoded.
    case corrupt
    /// The log was closed.
    case closed
    /// The directory is not an event log or was written by an unknown format version.
    case format
}

/// The one error type of the event log. Each case has a stable `code` for programs and a
/// message that tells a person what happened and what to do about it.
public typealias LogError = CodedError<LogErrorCode>
