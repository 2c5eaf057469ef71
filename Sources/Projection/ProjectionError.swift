import Foundation
import PurserCore

/// The codes of `ProjectionError`.
public enum ProjectionErrorCode: String, Sendable, Hashable, CaseIterable {
    /// An event this build cannot read (a payload that does not match its type's schema, an
    /// envelope that is not JSON). The projection skips it, counts it and logs it, so one
    /// bad event cannot stop a read model.
    case undecodableEvent = "projection.event_undecodable"
    /// The SQLite file could not be opened, written or swapped.
    case storage = "projection.storage"
    /// The event log could not be read.
    case log = "projection.log"
    /// A projection name nobody declared.
    case unknownProjection = "projection.unknown"
    /// A read model was asked for before it was ever built.
    case notBuilt = "projection.not_built"
}

/// The one error type of the projection framework and the projector targets.
///
/// `code` is stable for programs, `message` is written for the person who has to act on it, and
/// `cause` keeps the underlying failure (a SQLite error, a log error, a payload error).
public typealias ProjectionError = CodedError<ProjectionErrorCode>
