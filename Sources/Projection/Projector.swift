import Foundation
import GRDB

/// A read model built from the event log: declares its name, schema and schema version, and
/// applies events in seq order to its SQLite database.
///
/// The framework (`ProjectionStore`) owns transactions and the checkpoint: `apply` runs inside a
/// transaction that also records the event's seq, so each event is applied exactly once, and a
/// crash anywhere leaves either the whole batch or none of it.
public protocol Projector: Sendable {
    /// The file name stem (`DATA/projections/<name>.sqlite`) and the name commands use.
    var name: String { get }
    /// Bumped whenever `schemaSQL` or the meaning of the rows changes; a stored model with
    /// another version is rebuilt from the log.
    var schemaVersion: Int { get }
    /// `CREATE TABLE`/`CREATE INDEX` statements, identical to the target's `schema.sql`.
    var schemaSQL: String { get }
    /// The event types `apply` handles. Others are skipped before anything of them is parsed,
    /// which is what keeps a rebuild fast: decoding a payload costs microseconds, a set lookup
    /// nanoseconds.
    var eventTypes: Set<String> { get }
    /// Applies one event of a type in `eventTypes`.
    ///
    /// Throw `ProjectionError(.undecodableEvent, ...)` before writing anything when the payload
    /// cannot be read: the event is then skipped and counted rather than stopping the model.
    /// Any other error aborts the batch (nothing of it is kept) and is reported.
    func apply(_ event: ProjectedEvent, _ db: Database) throws
}
