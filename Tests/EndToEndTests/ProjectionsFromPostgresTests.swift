import Foundation
import PurserTestSupport
import ReadModelCatalog
import Testing

/// `purser projections … --database URL`: the read models under `--data` fed from PostgreSQL,
/// against the throwaway server CI starts (`PURSER_TEST_DATABASE_URL`).
@Suite("purser projections --database", .enabled(if: postgresTestsEnabled))
struct ProjectionsFromPostgresTests {
    @Test func readModelsRebuiltFromPostgreSQLAnswerSessionsAndSpendLikeTheOriginal() throws {
        let data = TempDir(), fresh = TempDir()
        #expect(try purser(["demo"], data: data.path).status == 0)
        let url = try freshDatabase()
        let migrated = try purser(["store", "migrate", "--to", url], data: data.path)
        #expect(migrated.status == 0, "\(migrated.stderr)")

        let rebuilt = try purser(["projections", "rebuild", "--database", url], data: fresh.path)
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        // One line per node-local model, then one per model kept in the database itself (all six).
        let local = rebuilt.lines.filter { $0["store"] == nil }, inDatabase = rebuilt.lines.filter { $0["store"] as? String == "postgres" }
        #expect(local.count == ReadModelCatalog.projectors.count && local.count + inDatabase.count == rebuilt.lines.count)
        #expect(inDatabase.map { $0["name"] as? String } == ReadModelCatalog.projectors.map(\.name))
        #expect(inDatabase.allSatisfy { ($0["schema"] as? String)?.hasPrefix("rm_\($0["name"] as? String ?? "")_v") == true })
        // Every org's checkpoint is its head (the demo's org, and `_unrouted` for the rejected line).
        let heads = try #require(try purser(["log", "stats", "--database", url], data: data.path).lines.last?["eventsPerOrg"] as? [String: Int])
        #expect((heads["haff"] ?? 0) > 0)
        for line in local {
            #expect((line["checkpoints"] as? [String: Int]) == heads, "\(line)")
        }
        let status = try purser(["projections", "status"], data: fresh.path, env: ["PURSER_DATABASE_URL": url])
        #expect(status.status == 0, "\(status.stderr)")
        for line in status.lines where line["store"] == nil {
            #expect(line["lag"] as? Int == 0 && line["needsRebuild"] as? Bool == false && line["sourceChanged"] as? Bool == false, "\(line)")
            #expect((line["source"] as? String)?.hasPrefix("postgres://") == true && (line["heads"] as? [String: Int]) == heads)
        }
        let databaseStatus = status.lines.filter { $0["store"] as? String == "postgres" }
        #expect(databaseStatus.count == ReadModelCatalog.projectors.count)
        for line in databaseStatus {
            #expect(line["lag"] as? Int == 0 && line["needsRebuild"] as? Bool == false && (line["heads"] as? [String: Int]) == heads, "\(line)")
        }

        let sessions = try purser(["sessions"], data: data.path)
        let sessionsFromPG = try purser(["sessions", "--database", url], data: fresh.path)
        #expect(sessionsFromPG.status == 0, "\(sessionsFromPG.stderr)")
        #expect(!sessions.lines.isEmpty && sessionsFromPG.stdout == sessions.stdout)
        let spend = try purser(["spend", "--org", "haff"], data: data.path)
        let spendFromPG = try purser(["spend", "--org", "haff", "--database", url], data: fresh.path)
        #expect(spendFromPG.status == 0, "\(spendFromPG.stderr)")
        #expect(!spend.lines.isEmpty && spendFromPG.stdout == spend.stdout)

        // The outbox from the model kept in PostgreSQL: the same messages (positions are per org there).
        let outbox = try purser(["outbox", "--state", "all"], data: data.path)
        let outboxFromPG = try purser(["outbox", "--state", "all", "--database", url], data: fresh.path)
        #expect(outboxFromPG.status == 0, "\(outboxFromPG.stderr)")
        func withoutSeq(_ lines: [[String: Any]]) -> [String] {
            lines.map { line in line.filter { $0.key != "seq" }.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",") }
        }
        #expect(!outbox.lines.isEmpty && withoutSeq(outboxFromPG.lines) == withoutSeq(outbox.lines))

        // The agents from the model kept in PostgreSQL (configured positions are per org there).
        let agents = try purser(["agent", "list"], data: data.path)
        let agentsFromPG = try purser(["agent", "list", "--database", url], data: fresh.path)
        #expect(agentsFromPG.status == 0, "\(agentsFromPG.stderr)")
        #expect(!agents.lines.isEmpty && agentsFromPG.stdout == agents.stdout)

        // A catch-up with nothing new scans nothing and rebuilds nothing.
        let again = try purser(["projections", "catchup", "--database", url], data: fresh.path)
        #expect(again.status == 0, "\(again.stderr)")
        for line in again.lines {
            #expect(line["rebuilt"] as? Bool == false && line["eventsScanned"] as? Int == 0, "\(line)")
        }
    }
}
