import Foundation
import Logging
import PostgresNIO
import PostgresStore

/// A fresh database per test on the server `PURSER_TEST_DATABASE_URL` names (CI starts a
/// throwaway cluster with scripts/pg-cluster.sh). Without it the suites are skipped on a
/// developer's machine and fail under CI, so a CI run can never pass without the real server.
/// Shared by every test target that needs the server.
public enum TestDatabase {
    public static let serverURL = ProcessInfo.processInfo.environment["PURSER_TEST_DATABASE_URL"]
    public static let inCI = ProcessInfo.processInfo.environment["CI"] != nil
    /// Suites run when there is a server, and under CI (where a missing one is a failure).
    public static let enabled = serverURL != nil || inCI

    public static var logger: Logger {
        var logger = Logger(label: "purser.tests.postgres")
        logger.logLevel = .warning
        return logger
    }

    /// Creates an empty database, runs `body` with its URL, drops it afterwards.
    public static func with<T>(_ body: (PostgresURL) async throws -> T) async throws -> T {
        guard let serverURL else { throw NoServer() }
        let server = try PostgresURL(serverURL)
        let name = "purser_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await admin(server, "CREATE DATABASE \(name)")
        var url = server
        url.database = String(name)
        do {
            let result = try await body(url)
            try await admin(server, "DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            try? await admin(server, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// Creates an empty database and returns its URL, for a test object that keeps it for its
    /// whole life (the throwaway cluster is removed with everything in it when the run ends).
    public static func create() async throws -> PostgresURL {
        guard let serverURL else { throw NoServer() }
        let server = try PostgresURL(serverURL)
        let name = "purser_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await admin(server, "CREATE DATABASE \(name)")
        var url = server
        url.database = String(name)
        return url
    }

    /// Runs one statement on the server's own database (what CREATE/DROP DATABASE need).
    public static func admin(_ server: PostgresURL, _ sql: String) async throws {
        try await withClient(server) { client in
            try await client.query(PostgresQuery(unsafeSQL: sql))
        }
    }

    /// A plain client for what a test does behind the store's back (psql's part).
    public static func withClient<T: Sendable>(_ url: PostgresURL, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let config = PostgresClient.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                  database: url.database, tls: .disable)
        let client = PostgresClient(configuration: config)
        let task = Task { await client.run() }
        defer { task.cancel() }
        return try await body(client)
    }

    /// Opens the store on `url`, runs `body`, closes it.
    public static func withStore<T>(_ url: PostgresURL, _ body: (PostgresEventStore) async throws -> T) async throws -> T {
        let store = try await PostgresEventStore.open(url: url, logger: logger)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// What a test run under CI without a server fails with.
    struct NoServer: Error, CustomStringConvertible {
        var description: String { "PURSER_TEST_DATABASE_URL is not set, and CI is: start a server with scripts/pg-cluster.sh start DIR" }
    }
}
