import EventLog
import Foundation
import PurserCore
import PurserTestSupport
import GRDB
import PurserDomain
import ReadModelCatalog
import Testing

/// `purser agent ...`, `purser objects ...` and `purser projections ...` run as a user would.
@Suite struct ProjectionCommandTests {
    static let validConfig = """
        {"type":"org_agent","subtype":"primary","organizationId":"haff","name":"Sailing School Assistant","status":"active",
         "customProperties":{"displayName":"Haff Assistant","language":"de","autonomyLevel":"supervised","maxMessagesPerDay":100,
         "maxCostPerDay":5.0,"enabledTools":["crm_tool","booking_tool","data_query_tool"],"disabledTools":["bulk_crm_email_tool"],
         "channelBindings":[{"channel":"whatsapp","enabled":true,"address":"+49 3977 1234567"}]}}
        """

    static let invalidConfig = """
        {"type":"org_agent","organizationId":"kiel","name":"X","customProperties":{"language":"xx-!!","autonomyLevel":"yolo",
         "maxMessagesPerDay":0,"maxCostPerDay":-1,"enabledTools":["nope_tool","crm_tool"],"disabledTools":["crm_tool"],
         "channelBindings":[{"channel":"whatsapp","enabled":true,"address":"+4939771234567"}]}}
        """

    func write(_ text: String, _ dir: TempDir, _ name: String) -> String {
        let path = dir.path + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func agentApplyListShowPauseResume() throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let good = write(Self.validConfig, dir, "good.json")
        let bad = write(Self.invalidConfig, dir, "bad.json")

        var r = try purser(["agent", "apply", good], data: data)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.lines.first?["revision"] as? Int == 1 && r.lines.first?["org"] as? String == "haff")

        // Every problem at once, including the address haff's agent already serves; nothing appended.
        r = try purser(["agent", "apply", bad], data: data)
        #expect(r.status == 2)
        let paths = r.lines.compactMap { ($0["problem"] as? [String: Any])?["path"] as? String }
        #expect(paths.count >= 6, "\(r.stdout)")
        for expected in ["customProperties.autonomyLevel", "customProperties.language", "customProperties.maxMessagesPerDay",
                         "customProperties.maxCostPerDay", "customProperties.enabledTools[0]", "customProperties.channelBindings[0].address"] {
            #expect(paths.contains(expected), "missing problem at \(expected)")
        }
        #expect(r.stderr.contains("already bound"))
        #expect(try purser(["agent", "list", "--org", "kiel"], data: data).lines.isEmpty)

        r = try purser(["agent", "apply", good], data: data)
        #expect(r.lines.first?["revision"] as? Int == 2)
        r = try purser(["agent", "list"], data: data)
        #expect(r.lines.count == 1)
        #expect((r.lines[0]["channels"] as? [[String: Any]])?.first?["address"] as? String == "+4939771234567")

        r = try purser(["agent", "pause", "--org", "haff", "--reason", "holiday"], data: data)
        #expect(r.status == 0 && r.lines.first?["to"] as? String == "paused")
        r = try purser(["agent", "show", "--org", "haff", "--agent", "primary"], data: data)
        #expect(r.lines.first?["status"] as? String == "paused")
        #expect(((r.lines.first?["config"] as? [String: Any])?["customProperties"] as? [String: Any])?["autonomyLevel"] as? String == "supervised")
        r = try purser(["agent", "pause", "--org", "haff"], data: data)
        #expect(r.lines.first?["unchanged"] as? Bool == true)
        r = try purser(["agent", "resume", "--org", "haff", "--agent", "primary"], data: data)
        #expect(r.lines.first?["to"] as? String == "active")
        r = try purser(["agent", "show", "--org", "haff", "--agent", "primary", "--history"], data: data)
        #expect(r.lines.map { $0["revision"] as? Int } == [1, 2])
        #expect(try purser(["agent", "show", "--org", "nobody"], data: data).status == 1)
    }

    @Test func objectsImportWithABadLineInTheMiddle() throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let file = write("""
            {"id":"c_17","type":"crm_contact","subtype":"customer","name":"Lisa K.","status":"active","customProperties":{"email":"Lisa@Example.de","phone":"+49 160 9876543"},"createdAt":"2025-03-01T09:00:00Z"}
            {"id":"b_90","type":"booking","name":"SBF Binnen","status":"confirmed","customProperties":{"price":450.0}}
            {"id": "c_18", "type": 
            {"type":"booking","name":"no id"}

            {"id":"c_19","type":"crm_contact","name":"Max"}
            {"link":{"from":"c_17","to":"b_90","linkType":"bookings"}}
            """, dir, "objects.jsonl")
        var r = try purser(["objects", "import", "--org", "haff", file], data: data)
        #expect(r.status == 2)
        let errors = r.lines.filter { $0["error"] != nil }
        #expect(errors.map { $0["line"] as? Int } == [3, 4])
        #expect(r.stderr.contains("line 3:") && r.stderr.contains("line 4:"))
        let summary = try #require(r.lines.last)
        #expect(summary["created"] as? Int == 3 && summary["links"] as? Int == 1 && summary["rejected"] as? Int == 2)

        r = try purser(["objects", "show", "--org", "haff"], data: data)
        #expect(r.status == 0)
        #expect(r.lines.map { $0["id"] as? String } == ["b_90", "c_17", "c_19"])
        r = try purser(["objects", "show", "--org", "haff", "--id", "c_17"], data: data)
        let links = (r.lines.first?["links"] as? [String: Any])?["out"] as? [[String: Any]]
        #expect(links?.first?["to"] as? String == "b_90")
        #expect(try purser(["objects", "show", "--org", "haff", "--type", "booking"], data: data).lines.count == 1)

        // The same ids in another org are other objects.
        let other = write(#"{"id":"c_17","type":"crm_contact","name":"Someone else"}"#, dir, "other.jsonl")
        #expect(try purser(["objects", "import", "--org", "kiel", other], data: data).status == 0)
        #expect(try purser(["objects", "show", "--org", "kiel", "--id", "c_17"], data: data).lines.first?["name"] as? String == "Someone else")
        #expect(try purser(["objects", "show", "--org", "haff", "--id", "c_17"], data: data).lines.first?["name"] as? String == "Lisa K.")
        #expect(try purser(["objects", "show", "--org", "kiel", "--id", "b_90"], data: data).status == 1)

        // Importing the same file again changes nothing.
        r = try purser(["objects", "import", "--org", "haff", file], data: data)
        #expect(r.lines.last?["created"] as? Int == 0 && r.lines.last?["updated"] as? Int == 0 && r.lines.last?["unchanged"] as? Int == 4)
    }

    @Test func projectionsStatusAndRebuild() throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let good = write(Self.validConfig, dir, "good.json")
        #expect(try purser(["agent", "apply", good], data: data).status == 0)
        var r = try purser(["projections", "status"], data: data)
        #expect(r.lines.map { $0["name"] as? String } == ReadModelCatalog.projectors.map(\.name))
        let agents = try #require(r.lines.first)
        #expect(agents["checkpoint"] as? Int == 1 && agents["lag"] as? Int == 0 && agents["storedSchemaVersion"] as? Int == 1)
        #expect(r.lines[1]["storedSchemaVersion"] is NSNull && r.lines[1]["lag"] as? Int == 1)
        r = try purser(["projections", "rebuild"], data: data)
        #expect(r.status == 0 && r.lines.count == ReadModelCatalog.projectors.count)
        r = try purser(["projections", "status"], data: data)
        #expect(r.lines.allSatisfy { $0["lag"] as? Int == 0 && $0["checkpoint"] as? Int == 1 })
        r = try purser(["projections", "rebuild", "nope"], data: data)
        #expect(r.status == 2 && r.stderr.contains("no read model is named"))
    }

    static func charges(_ n: Int, start: Int) throws -> [EventDraft] {
        try (0..<n).map { i in
            let p = CostCharged(agentId: "primary", day: "2026-11-25", usd: 0.001, tokens: 10, promptTokens: 10, completionTokens: 0,
                                messages: 1, model: "m", reservationId: "r\(start + i)", reservedUsd: 0.001)
            let e = try EventCatalog.standard.encode(p)
            return EventDraft(org: "org-\((start + i) % 7)", stream: "spend:primary:2026-11-25", type: e.type, version: e.version, data: Array(e.data))
        }
    }

    static func spendTotals(_ data: String) throws -> (messages: Int, checkpoint: Int) {
        var config = Configuration()
        config.readonly = true
        let db = try DatabaseQueue(path: data + "/projections/spend.sqlite", configuration: config)
        defer { try? db.close() }
        return try db.read { db in
            (try Int.fetchOne(db, sql: "SELECT coalesce(sum(messages), 0) FROM spend") ?? -1,
             try Int.fetchOne(db, sql: "SELECT checkpoint_seq FROM projection_meta") ?? -1)
        }
    }

    /// Starts `purser ARGS`, waits until `ready` says so (or it exits), then SIGKILLs it.
    func killMidway(_ args: [String], data: String, ready: () -> Bool) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: purserBinary())
        p.arguments = args + ["--data", data]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        var killed = false
        for _ in 0..<3000 {
            if !p.isRunning { break }
            if ready() {
                kill(p.processIdentifier, SIGKILL)
                killed = true
                break
            }
            usleep(2000)
        }
        p.waitUntilExit()
        return killed && p.terminationReason == .uncaughtSignal
    }

    @Test func aSIGKILLDuringCatchUpOrRebuildNeverDoubleApplies() throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let total = 150_000
        do {
            let log = try EventLog.open(directory: data + "/eventlog")
            _ = try log.appendSync(try Self.charges(10, start: 0))
            log.close()
        }
        #expect(try purser(["projections", "catchup", "spend"], data: data).status == 0)
        do {
            let log = try EventLog.open(directory: data + "/eventlog")
            var i = 10
            while i < total {
                let n = min(4096, total - i)
                _ = try log.appendSync(try Self.charges(n, start: i))
                i += n
            }
            log.close()
        }
        // Catch-up killed after at least one batch committed, before the last.
        let killedCatchUp = try killMidway(["projections", "catchup", "spend"], data: data) {
            guard let t = try? Self.spendTotals(data) else { return false }
            return t.checkpoint > 10
        }
        var t = try Self.spendTotals(data)
        #expect(t.messages == t.checkpoint, "rows and checkpoint committed together")
        if killedCatchUp { #expect(t.checkpoint < total) }

        // A rebuild killed midway leaves the previous model in place and readable.
        let before = t
        let rebuildFile = data + "/projections/spend.sqlite.rebuild"
        let killedRebuild = try killMidway(["projections", "rebuild", "spend"], data: data) {
            ((try? FileManager.default.attributesOfItem(atPath: rebuildFile)[.size] as? NSNumber)?.intValue ?? 0) > 200_000
        }
        if killedRebuild {
            t = try Self.spendTotals(data)
            #expect(t.checkpoint == before.checkpoint && t.messages == before.messages)
        }

        // Rerun: the catch-up finishes, every event counted exactly once.
        let r = try purser(["projections", "catchup", "spend"], data: data)
        #expect(r.status == 0, "\(r.stderr)")
        t = try Self.spendTotals(data)
        #expect(t.messages == total && t.checkpoint == total)
        #expect(!FileManager.default.fileExists(atPath: rebuildFile), "the killed rebuild's file is cleared, never swapped in")
        let status = try purser(["projections", "status"], data: data).lines.first { $0["name"] as? String == "spend" }
        #expect(status?["lag"] as? Int == 0)
        // And a full rebuild gives the same figure.
        #expect(try purser(["projections", "rebuild", "spend"], data: data).status == 0)
        #expect(try Self.spendTotals(data).messages == total)
    }
}
