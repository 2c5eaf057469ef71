import EventLog
import EventStore
import Foundation
import Logging
import PostgresNIO
import PostgresStore
import Testing

/// The stores the conformance suite runs against. PostgreSQL runs when `PURSER_TEST_DATABASE_URL`
/// names a server (CI starts one with scripts/pg-cluster.sh); under CI without it the suite fails
/// rather than pass on the embedded store alone.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case embedded, postgres

    static let serverURL = ProcessInfo.processInfo.environment["PURSER_TEST_DATABASE_URL"]
    static let inCI = ProcessInfo.processInfo.environment["CI"] != nil
    static var enabled: [Backend] { serverURL != nil || inCI ? allCases : [.embedded] }

    var testDescription: String { rawValue }

    static var logger: Logger {
        var logger = Logger(label: "purser.tests.eventstore")
        logger.logLevel = .warning
        return logger
    }

    /// Opens an empty store of this kind, runs `body` with it and a way to change an event behind
    /// its back (the org and position of the event to damage), then closes and removes it.
    func withStore<T>(_ body: (any EventStore, _ tamper: (String, UInt64) async throws -> Void) async throws -> T) async throws -> T {
        switch self {
        case .embedded:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("purser-seam-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let store = try await EmbeddedEventStore.open(directory: dir, logger: Self.logger)
            do {
                let result = try await body(store) { _, _ in try Self.flipLastSegmentByte(dir) }
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        case .postgres:
            return try await Self.withDatabase { url in
                let store = try await PostgresEventStore.open(url: url, logger: Self.logger)
                do {
                    let result = try await body(store) { org, seq in
                        try await Self.withClient(url) { client in
                            _ = try await client.query("UPDATE purser_events SET body = replace(body, 'hi', 'ho') WHERE org = \(org) AND seq = \(Int64(seq))")
                        }
                    }
                    await store.close()
                    return result
                } catch {
                    await store.close()
                    throw error
                }
            }
        }
    }

    /// Flips the last byte of the newest segment: inside the newest batch's compressed data.
    static func flipLastSegmentByte(_ dir: String) throws {
        let segments = try FileManager.default.contentsOfDirectory(atPath: dir + "/segments").filter { $0.hasSuffix(".lz4") }.sorted()
        let path = dir + "/segments/" + segments.last!
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 1] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A database of its own on the test server, dropped afterwards.
    static func withDatabase<T>(_ body: (PostgresURL) async throws -> T) async throws -> T {
        guard let serverURL else {
            Issue.record("PURSER_TEST_DATABASE_URL is not set, and CI is: start a server with scripts/pg-cluster.sh start DIR")
            throw CancellationError()
        }
        let server = try PostgresURL(serverURL)
        let name = "purser_seam_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await withClient(server) { _ = try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        var url = server
        url.database = String(name)
        do {
            let result = try await body(url)
            try await withClient(server) { _ = try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)")) }
            return result
        } catch {
            try? await withClient(server) { _ = try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)")) }
            throw error
        }
    }

    /// A plain client, for what a test does behind the store's back.
    static func withClient<T: Sendable>(_ url: PostgresURL, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let config = PostgresClient.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                  database: url.database, tls: .disable)
        let client = PostgresClient(configuration: config)
        let task = Task { await client.run() }
        defer { task.cancel() }
        return try await body(client)
    }
}

func draft(_ org: String, _ id: String, stream: String = "s", type: String = "message.received", text: String = "hi") -> EventDraft {
    EventDraft(org: org, stream: stream, type: type, data: Array(#"{"text":"\#(text)","n":1}"#.utf8),
               actor: Actor(.customer, "+4917"), id: id, timestampMs: 1_764_000_000_000)
}
