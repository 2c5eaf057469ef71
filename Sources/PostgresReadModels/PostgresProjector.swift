import Logging
import PostgresNIO
import Projection

/// A read model kept in PostgreSQL beside the events it is built from (docs/POSTGRES.md, "Read
/// models"): its tables live in a schema of their own, which `PostgresReadModel` creates, fills
/// and swaps in, and keeps its per-org checkpoints in.
///
/// `apply` runs inside the transaction that also moves the org's checkpoint, so a batch of
/// events is applied entirely or not at all, and never twice.
public protocol PostgresProjector: Sendable {
    /// The model's name, as `purser projections` shows it (the same as its SQLite twin's).
    var name: String { get }
    /// Bumped whenever the tables or the meaning of their rows change: a model of another
    /// version is rebuilt into a new schema and swapped in.
    var schemaVersion: Int { get }
    /// `CREATE TABLE` / `CREATE INDEX` statements with `{schema}` where the schema's name goes.
    var schemaStatements: [String] { get }
    /// The event types `apply` handles; only these are read from the log.
    var eventTypes: Set<String> { get }
    /// Applies one org's events, in position order, on `connection` (in an open transaction),
    /// to the tables in `schema` (a quoted identifier). An event whose payload cannot be read is
    /// left out and logged, not fatal, as in the SQLite models; returns how many were. Any thrown
    /// error rolls the batch back.
    func apply(_ events: [ProjectedEvent], org: String, schema: String, on connection: PostgresConnection, logger: Logger) async throws -> Int
}
