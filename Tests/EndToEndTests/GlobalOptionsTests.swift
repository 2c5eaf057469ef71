import Foundation
import PurserCore
import PurserTestSupport
import Testing

/// The global options (`--data`, `--log-level`, `--log-format`) before the subcommand as well as
/// after it, and the logging they set up.
@Suite struct GlobalOptionsTests {
    /// A data directory inside `dir` holding haff's agent, so the log has an event.
    func seeded(_ dir: TempDir) throws -> String {
        let data = dir.path + "/data"
        let config = dir.path + "/agent.json"
        _ = FileManager.default.createFile(atPath: config, contents: Data(ProjectionCommandTests.validConfig.utf8))
        let applied = try purser(["agent", "apply", config], data: data)
        #expect(applied.status == 0, "\(applied.stderr)")
        return data
    }

    @Test func dataGoesBeforeOrAfterTheSubcommand() throws {
        let dir = TempDir()
        defer { withExtendedLifetime(dir) {} }
        let data = try seeded(dir)
        let after = try purser(exactly: ["agent", "list", "--data", data])
        let before = try purser(exactly: ["--data", data, "agent", "list"])
        let joined = try purser(exactly: ["--data=\(data)", "agent", "list"])
        for r in [after, before, joined] {
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.lines.map { $0["org"] as? String } == ["haff"], "\(r.stdout)")
        }
        // Nested commands, and a group's default subcommand.
        let cat = try purser(exactly: ["--data", data, "log", "cat"])
        #expect(cat.status == 0 && !cat.lines.isEmpty, "\(cat.stderr)")
        let outbox = try purser(exactly: ["--data", data, "outbox"])
        #expect(outbox.status == 0, "\(outbox.stderr)")
        // An explicit --data after the subcommand wins over a leading one.
        let empty = dir.path + "/empty"
        let overridden = try purser(exactly: ["--data", empty, "agent", "list", "--data", data])
        #expect(overridden.lines.map { $0["org"] as? String } == ["haff"], "\(overridden.stderr)")
    }

    @Test func helpStillAnswersWithEachCommandsUsage() throws {
        let root = try purser(exactly: ["--help"])
        #expect(root.status == 0 && root.stdout.contains("USAGE: purser <subcommand>"), "\(root.stdout)")
        let log = try purser(exactly: ["log", "--help"])
        #expect(log.status == 0 && log.stdout.contains("USAGE: purser log"), "\(log.stdout)")
        let stats = try purser(exactly: ["--data", "/nonexistent", "log", "stats", "--help"])
        #expect(stats.status == 0 && stats.stdout.contains("USAGE: purser log stats") && stats.stdout.contains("--log-level"), "\(stats.stdout)")
        // Before a group's name alone they change nothing: the group's usage, as without them.
        let group = try purser(exactly: ["--data", "/nonexistent", "log"])
        #expect(group.status == 0 && group.stdout.contains("USAGE: purser log <subcommand>"), "\(group.stdout)\(group.stderr)")
    }

    @Test func logLevelBeforeTheSubcommand() throws {
        let dir = TempDir()
        defer { withExtendedLifetime(dir) {} }
        let data = try seeded(dir)
        let r = try purser(exactly: ["--log-level", "debug", "--data", data, "log", "stats"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect((r.lines.first?["events"] as? Int ?? 0) >= 1, "\(r.stdout)")
        let bad = try purser(exactly: ["--log-level", "loud", "--data", data, "log", "stats"])
        #expect(bad.status == 2 && bad.stderr.contains("loud"), "\(bad.stderr)")
    }

    /// `projections catchup` on models never built logs their rebuilds (info); json makes each
    /// stderr line an object, and a higher level silences them.
    @Test func logFormatJSONAndLevel() throws {
        let dir = TempDir()
        defer { withExtendedLifetime(dir) {} }
        let data = try seeded(dir)
        let r = try purser(exactly: ["--log-format", "json", "--data", data, "projections", "catchup"], env: ["PURSER_LOG_LEVEL": ""])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONValue(parsing: line.utf8)
            #expect(object["level"]?.stringValue == "info", "\(line)")
            #expect(object["label"]?.stringValue == "purser.projections", "\(line)")
            #expect(object["message"]?.stringValue?.hasPrefix("projection ") == true, "\(line)")
            #expect(object["timestamp"]?.stringValue?.hasSuffix("Z") == true, "\(line)")
            #expect(object["metadata"]?.objectValue != nil, "\(line)")
        }
        // Rebuild once more at warning: nothing to say on stderr. The environment sets the level too.
        let quiet = try purser(exactly: ["--log-level", "warning", "--data", data, "projections", "rebuild"])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        let quietEnv = try purser(exactly: ["--data", data, "projections", "rebuild"], env: ["PURSER_LOG_LEVEL": "error"])
        #expect(quietEnv.status == 0 && quietEnv.stderr.isEmpty, "\(quietEnv.stderr)")
        let text = try purser(exactly: ["projections", "rebuild", "--data", data], env: ["PURSER_LOG_LEVEL": "info"])
        #expect(text.status == 0 && text.stderr.contains("info purser.projections:"), "\(text.stderr)")
    }
}
