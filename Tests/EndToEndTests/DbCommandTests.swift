import Foundation
import PurserCore
import PurserTestSupport
import Testing

/// `purser db migrate` against the throwaway server CI starts (`PURSER_TEST_DATABASE_URL`);
/// skipped without one on a developer's machine, a failure under CI.
@Suite("purser db migrate", .enabled(if: ProcessInfo.processInfo.environment["PURSER_TEST_DATABASE_URL"] != nil
                                      || ProcessInfo.processInfo.environment["CI"] != nil))
struct DbCommandTests {
    /// A database of its own on the test server, made with psql.
    func freshDatabase() throws -> String {
        guard let server = ProcessInfo.processInfo.environment["PURSER_TEST_DATABASE_URL"] else {
            Issue.record("PURSER_TEST_DATABASE_URL is not set, and CI is")
            throw CancellationError()
        }
        let name = "purser_e2e_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        let psql = try runProcess("/usr/bin/env", ["psql", "-q", "-v", "ON_ERROR_STOP=1", server, "-c", "CREATE DATABASE \(name)"])
        #expect(psql.status == 0, "\(psql.stderr)")
        // The server's URL names its own database last: swap that for the new one.
        guard let slash = server.lastIndex(of: "/") else { throw CancellationError() }
        return server[..<slash] + "/\(name)"
    }

    @Test func migrateAppliesTheSchemaOnceAndThenFindsItCurrent() throws {
        let url = try freshDatabase()
        let data = TempDir()
        let first = try purser(["db", "migrate", "--database", url], data: data.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.lines.first?["applied"] as? [Int] == [1])
        #expect(first.lines.first?["schemaVersion"] as? Int == 1)
        // Again, through the environment: nothing to apply.
        let again = try purser(["db", "migrate"], data: data.path, env: ["PURSER_DATABASE_URL": url])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.lines.first?["applied"] as? [Int] == [])
    }

    @Test func aBadDatabaseURLIsAUsageErrorThatHidesThePassword() throws {
        let data = TempDir()
        let bad = try purser(["db", "migrate", "--database", "postgres://purser:hunter2-secret@127.0.0.1:99999/x"], data: data.path)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("port"))
        #expect(!bad.stderr.contains("hunter2-secret") && !bad.stdout.contains("hunter2-secret"))
        let none = try purser(["db", "migrate"], data: data.path, env: ["PURSER_DATABASE_URL": ""])
        #expect(none.status == 2)
        #expect(none.stderr.contains("--database"))
    }

    @Test func anUnreachableDatabaseFailsWithoutThePassword() throws {
        let data = TempDir()
        let down = try purser(["db", "migrate", "--database", "postgres://purser:hunter2-secret@127.0.0.1:9/x?sslmode=disable"], data: data.path)
        #expect(down.status == 1)
        #expect(down.stderr.contains("postgres://purser:***@127.0.0.1:9/x"))
        #expect(!down.stderr.contains("hunter2-secret"))
    }
}
