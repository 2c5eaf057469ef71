import Foundation
import PurserCore
import PurserTestSupport
import Testing

/// `purser db migrate` against the throwaway server CI starts (`PURSER_TEST_DATABASE_URL`);
/// skipped without one on a developer's machine, a failure under CI.
@Suite("purser db migrate", .enabled(if: ProcessInfo.processInfo.environment["PURSER_TEST_DATABASE_URL"] != nil
                                      || ProcessInfo.processInfo.environment["CI"] != nil))
struct DbCommandTests {
    @Test func migrateAppliesTheSchemaOnceAndThenFindsItCurrent() throws {
        let url = try freshDatabase()
        let data = TempDir()
        let first = try purser(["db", "migrate", "--database", url], data: data.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.lines.first?["applied"] as? [Int] == [1, 2, 3, 4])
        #expect(first.lines.first?["schemaVersion"] as? Int == 4, "the newest migration applied is the version the database reports")
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
