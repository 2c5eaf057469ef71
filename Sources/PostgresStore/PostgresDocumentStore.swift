import Logging
import NIOCore
import PostgresNIO
import PurserCore

/// Small named documents in `purser_documents` (migration 2), on the event store's connection
/// pool: the access tokens and each org's sealed credentials, shared by every node on the database.
///
/// Compare-and-swap in one statement each: a first write is `INSERT … ON CONFLICT DO NOTHING`, a
/// later one `UPDATE … WHERE version = $expected`; no row back means another writer came in
/// between (`.conflict`). A write whose answer was lost and is sent again finds its own version
/// gone and reports a conflict, so the caller re-reads, sees its change, and does not repeat it.
///
/// The methods block the calling thread until the server answered (`BlockingIO.wait`): call them
/// off the cooperative pool, as every caller of the token and credential stores does.
public final class PostgresDocumentStore: DocumentStore {
    public let events: PostgresEventStore

    /// The documents of the database `events` is open on (and has migrated).
    public init(events: PostgresEventStore) {
        self.events = events
    }

    public func read(_ name: String) throws(DocumentStoreError) -> StoredDocument? {
        try Self.validate(name: name)
        return try run("read document \(name)") { store in
            let rows = try await store.client.query("SELECT bytes, version FROM purser_documents WHERE name = \(name)", logger: store.logger)
            for try await (bytes, version) in rows.decode((PostgresByteArray, Int64).self) {
                return StoredDocument(bytes: bytes.bytes, version: version)
            }
            return nil
        }
    }

    @discardableResult
    public func write(_ name: String, bytes: [UInt8], expectedVersion: Int64?) throws(DocumentStoreError) -> Int64 {
        try Self.validate(name: name)
        let buffer = ByteBuffer(bytes: bytes)
        let written: Int64? = try run("write document \(name)") { store in
            let query: PostgresQuery
            if let expectedVersion {
                query = """
                    UPDATE purser_documents SET bytes = \(buffer), version = nextval('purser_document_versions'), updated_at = now()
                     WHERE name = \(name) AND version = \(expectedVersion) RETURNING version
                    """
            } else {
                query = """
                    INSERT INTO purser_documents (name, bytes, version) VALUES (\(name), \(buffer), nextval('purser_document_versions'))
                    ON CONFLICT (name) DO NOTHING RETURNING version
                    """
            }
            for try await version in try await store.client.query(query, logger: store.logger).decode(Int64.self) { return version }
            return nil
        }
        guard let written else { throw DocumentStoreError(.conflict, "document \(name) changed since it was read") }
        return written
    }

    public func delete(_ name: String, expectedVersion: Int64) throws(DocumentStoreError) {
        try Self.validate(name: name)
        let deleted: Bool = try run("delete document \(name)") { store in
            let rows = try await store.client.query(
                "DELETE FROM purser_documents WHERE name = \(name) AND version = \(expectedVersion) RETURNING version", logger: store.logger)
            for try await _ in rows.decode(Int64.self) { return true }
            return false
        }
        if !deleted { throw DocumentStoreError(.conflict, "document \(name) changed since it was read") }
    }

    public func list(prefix: String) throws(DocumentStoreError) -> [String] {
        try run("list documents") { store in
            var names: [String] = []
            let rows = try await store.client.query(
                "SELECT name FROM purser_documents WHERE starts_with(name, \(prefix)) ORDER BY name", logger: store.logger)
            for try await name in rows.decode(String.self) { names.append(name) }
            return names
        }
    }

    /// Waits for `work` on the event store's pool, retried like its appends; any failure is `.io`.
    private func run<T: Sendable>(_ what: String, _ work: @escaping @Sendable (PostgresEventStore) async throws -> T) throws(DocumentStoreError) -> T {
        let store = events
        do {
            return try BlockingIO.wait { try await store.withRetry(what) { try await work(store) } }
        } catch {
            throw DocumentStoreError(.io, "cannot \(what) in PostgreSQL at \(store.url)", cause: error)
        }
    }
}
