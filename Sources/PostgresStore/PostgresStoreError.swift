import PurserCore

/// The codes of `PostgresStoreError`.
public enum PostgresStoreErrorCode: String, Sendable {
    /// The connection string does not parse.
    case badURL = "bad_url"
    /// The server could not be reached, or the connection broke and retries ran out.
    case unavailable
    /// The server refused a statement (a bug, or a schema changed behind Purser's back).
    case server
    /// The database's schema is newer than this build knows.
    case schemaTooNew = "schema_too_new"
    /// The database's schema is older than this build needs (`purser db migrate`).
    case schemaTooOld = "schema_too_old"
}

/// The PostgreSQL store's errors. Messages name the server as `PostgresURL.description` shows it
/// (never its password) and what to do; `cause` keeps the driver's error, whose own text
/// postgres-nio keeps free of connection secrets.
public typealias PostgresStoreError = CodedError<PostgresStoreErrorCode>
