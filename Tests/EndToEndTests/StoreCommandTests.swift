import Foundation
import PurserCore
import PurserTestSupport
import Testing

/// `purser store migrate` and `purser store export` against the throwaway server CI starts
/// (`PURSER_TEST_DATABASE_URL`): the log moves into PostgreSQL and back byte for byte, and
/// `log verify` and `audit` agree on both stores.
@Suite("purser store migrate / export", .enabled(if: postgresTestsEnabled))
struct StoreCommandTests {
    /// The envelope lines a data directory's segments decode to with the stock `lz4`.
    static func segmentLines(_ data: String) throws -> [String] {
        let log = data + "/eventlog"
        let dictionary = FileManager.default.fileExists(atPath: log + "/lz4.dict") ? "-D \(log)/lz4.dict" : ""
        return try shell("cat \(log)/segments/*.lz4 | lz4 -dc \(dictionary)").split(separator: "\n").map(String.init)
    }

    /// A line without its `{"seq":N,`: what every store keeps the same.
    static func body(_ line: String) -> String { String(line[line.firstIndex(of: ",")!...]) }

    /// The org of an envelope line.
    static func org(_ line: String) -> String {
        (try? JSONValue(parsing: Array(line.utf8)))?["org"]?.stringValue ?? ""
    }

    @Test func migratedDemoVerifiesAndAuditsAlikeAndExportsBackToTheSameLines() throws {
        let data = TempDir(), exported = TempDir()
        #expect(try purser(["demo"], data: data.path).status == 0)
        let url = try freshDatabase()
        let migrated = try purser(["store", "migrate", "--to", url], data: data.path)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stderr.contains("migrate org haff"))
        let original = try Self.segmentLines(data.path)
        #expect(migrated.lines.last?["copied"] as? Int == original.count)

        // verify agrees
        let embedded = try purser(["log", "verify"], data: data.path)
        let postgres = try purser(["log", "verify", "--database", url], data: data.path)
        #expect(embedded.status == 0 && postgres.status == 0, "\(postgres.stderr)")
        #expect(postgres.lines.last?["ok"] as? Bool == true)
        #expect(postgres.lines.last?["events"] as? Int == embedded.lines.last?["events"] as? Int)
        // audit agrees: the same events read, the same checks passed, no violation on either
        let a = try purser(["audit", "--org", "haff", "--format", "json"], data: data.path)
        let b = try purser(["audit", "--org", "haff", "--format", "json"], data: data.path, env: ["PURSER_DATABASE_URL": url])
        #expect(a.status == 0 && b.status == 0, "\(b.stderr)")
        let ra = a.lines.first ?? [:], rb = b.lines.first ?? [:]
        #expect(ra["events"] as? Int == rb["events"] as? Int && (ra["events"] as? Int ?? 0) > 0)
        #expect((ra["violations"] as? [Any])?.count == 0 && (rb["violations"] as? [Any])?.count == 0)
        #expect((rb["log"] as? [String: Any])?["ok"] as? Bool == true)

        // export, read back with the stock lz4: each org's envelopes byte for byte, in order
        let export = try purser(["store", "export", "--database", url, "--to", exported.path], data: data.path)
        #expect(export.status == 0, "\(export.stderr)")
        let back = try Self.segmentLines(exported.path)
        #expect(back.count == original.count)
        for org in Set(original.map(Self.org)) {
            #expect(back.filter { Self.org($0) == org }.map(Self.body) == original.filter { Self.org($0) == org }.map(Self.body))
        }
        #expect(try purser(["log", "verify"], data: exported.path).status == 0)
        #expect(try purser(["audit", "--org", "haff"], data: exported.path).status == 0)
    }

    @Test func aOneOrgLogExportsToExactlyTheSameSegmentLines() throws {
        let data = TempDir(), exported = TempDir()
        var lines = AuditReplayTests.Lines("haff")
        lines.configure()
        for n in 1...3 { lines.turn("s\(n)", n) }
        #expect(try purser(["log", "append", "-"], data: data.path, stdin: lines.text).status == 0)
        let url = try freshDatabase()
        #expect(try purser(["store", "migrate", "--to", url], data: data.path).status == 0)
        #expect(try purser(["store", "export", "--to", exported.path], data: data.path, env: ["PURSER_DATABASE_URL": url]).status == 0)
        let original = try Self.segmentLines(data.path)
        #expect(original.count == lines.out.count)
        #expect(try Self.segmentLines(exported.path) == original)
    }

    @Test func migratingTwiceCopiesNothingTwiceAndADifferentTargetIsRefused() throws {
        let data = TempDir(), other = TempDir()
        let events = try AuditReplayTests.multiOrgLog(data)
        let total = events.values.reduce(0, +)
        let url = try freshDatabase()
        let first = try purser(["store", "migrate", "--to", url], data: data.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.lines.last?["copied"] as? Int == total)
        let again = try purser(["store", "migrate", "--to", url], data: data.path)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.lines.last?["copied"] as? Int == 0)
        #expect(again.lines.last?["alreadyPresent"] as? Int == total)
        let stats = try purser(["log", "stats", "--database", url], data: data.path)
        #expect(stats.lines.last?["events"] as? Int == total)
        #expect(stats.lines.last?["eventsPerOrg"] as? [String: Int] == events)
        // Each org audits alike on both stores.
        for org in events.keys {
            let a = try purser(["audit", "--org", org, "--format", "json"], data: data.path).lines.first ?? [:]
            let b = try purser(["audit", "--org", org, "--format", "json", "--database", url], data: data.path).lines.first ?? [:]
            #expect(a["events"] as? Int == events[org] && b["events"] as? Int == events[org])
            #expect((a["violations"] as? [Any])?.count == (b["violations"] as? [Any])?.count)
        }
        // Another history of the same org: refused, nothing written.
        #expect(try purser(["log", "append", "-"], data: other.path,
                           stdin: #"{"org":"haff","stream":"s","type":"message.received","data":{"n":1}}"# + "\n").status == 0)
        let refused = try purser(["store", "migrate", "--to", url], data: other.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("holds different events of org haff"), "\(refused.stderr)")
        #expect(try purser(["log", "stats", "--database", url], data: data.path).lines.last?["events"] as? Int == total)
    }

    @Test func verifyOnPostgreSQLNamesTheOrgAndSeqOfAnEditedRow() throws {
        let data = TempDir()
        _ = try AuditReplayTests.multiOrgLog(data)
        let url = try freshDatabase()
        #expect(try purser(["store", "migrate", "--to", url], data: data.path).status == 0)
        _ = try shell("psql -q -v ON_ERROR_STOP=1 '\(url)' -c \"UPDATE purser_events SET body = body || ' ' WHERE org = 'kiel' AND seq = 5\"")
        let r = try purser(["log", "verify", "--database", url], data: data.path)
        #expect(r.status == 1)
        #expect(r.lines.first?["org"] as? String == "kiel" && r.lines.first?["seq"] as? Int == 5, "\(r.stdout)")
        #expect(r.stderr.contains("FAULT org kiel, seq 5"))
        let audit = try purser(["audit", "--org", "kiel", "--database", url], data: data.path)
        #expect(audit.status == 1)
        #expect(try purser(["audit", "--org", "haff", "--database", url], data: data.path).status == 0)
    }
}

/// What needs no server: usage, and a URL that is wrong or leads nowhere.
@Suite struct StoreCommandUsageTests {
    @Test func helpPrintsAUsageLine() throws {
        for command in [["store", "migrate"], ["store", "export"]] {
            let r = try purser(exactly: command + ["--help"])
            #expect(r.status == 0)
            #expect(r.stdout.contains("USAGE: purser \(command.joined(separator: " "))"), "\(r.stdout)")
        }
    }

    @Test func aBadURLIsAUsageErrorThatHidesThePassword() throws {
        let data = TempDir()
        let bad = "postgres://purser:hunter2-secret@127.0.0.1:99999/x"
        for args in [["store", "migrate", "--to", bad], ["store", "export", "--database", bad, "--to", data.path + "/out"],
                     ["log", "verify", "--database", bad], ["audit", "--org", "haff", "--database", bad]] {
            let r = try purser(args, data: data.path)
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr.contains("port"), "\(r.stderr)")
            #expect(!r.stderr.contains("hunter2-secret") && !r.stdout.contains("hunter2-secret"))
        }
    }

    @Test func anUnreachableServerFailsWithoutThePassword() throws {
        let data = TempDir()
        #expect(try purser(["log", "append", "-"], data: data.path,
                           stdin: #"{"org":"haff","stream":"s","type":"message.received","data":{"n":1}}"# + "\n").status == 0)
        let r = try purser(["store", "migrate", "--to", "postgres://purser:hunter2-secret@127.0.0.1:9/x?sslmode=disable"], data: data.path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("postgres://purser:***@127.0.0.1:9/x"), "\(r.stderr)")
        #expect(!r.stderr.contains("hunter2-secret"))
    }
}
