import Foundation
import PostgresStore
import PurserCore

/// Where `purser token` and `purser credentials` keep their documents: the data directory's files,
/// or the PostgreSQL store `--database` / `PURSER_DATABASE_URL` names (its schema migrated first),
/// so a token or credential set on one node is seen by every node on the database.
///
/// Synchronous, like `CommandStore`: these commands run on the main thread, where waiting for the
/// async store (`BlockingIO.wait`) is safe.
enum DocumentAccess {
    /// Runs `body` with the PostgreSQL documents, or the files under the data directory (the
    /// paths they always had: `DATA/access/tokens.json`, `DATA/credentials/<org>.sealed`).
    static func with<T>(_ global: GlobalOptions, _ options: DatabaseOptions, _ body: (any DocumentStore) throws -> T) throws -> T {
        guard let url = try options.given() else { return try body(FileDocumentStore(root: global.dataDirectory)) }
        let logger = LogSetup.logger("purser.store")
        let store: PostgresEventStore
        do {
            store = try BlockingIO.wait { try await PostgresEventStore.open(url: url, retrySecondsMax: 10, logger: logger) }
        } catch {
            Output.note("cannot open \(url): \(error)")
            throw Exit.failure
        }
        defer { _ = try? BlockingIO.wait { await store.close() } }
        return try body(PostgresDocumentStore(events: store))
    }
}
