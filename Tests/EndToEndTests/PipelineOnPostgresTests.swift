import Foundation
import PurserCore
import PurserTestSupport
import Testing

/// The engine on PostgreSQL (`--database`): the same commands as on the embedded store give the
/// same outcomes, nothing is written to the data directory's log, and the log verifies and
/// audits there.
@Suite("the pipeline on PostgreSQL", .enabled(if: postgresTestsEnabled))
struct PipelineOnPostgresTests {
    static let input = """
    {"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.e1"}
    {"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.e1"}
    {"channel":"pigeon","to":"x","from":"y","text":"?"}
    {"channel":"whatsapp","to":"+4930000000","from":"+491701234567","text":"Hallo?","externalMessageId":"wamid.e3"}
    """

    func applyAgent(_ dir: TempDir, autonomy: String, database: [String]) throws {
        let file = dir.path + "/agent.json"
        try IngestCommandTests.agent.replacingOccurrences(of: "AUTONOMY", with: autonomy).write(toFile: file, atomically: true, encoding: .utf8)
        let applied = try purser(["agent", "apply", file] + database, data: dir.path)
        #expect(applied.status == 0, "\(applied.stderr)")
    }

    @Test func ingestGivesTheSameOutcomesOnBothStoresAndVerifiesAndAuditsOnPostgres() throws {
        let url = try freshDatabase()
        var outcomes: [[String]] = []
        for database in [[], ["--database", url]] {
            let dir = TempDir()
            try applyAgent(dir, autonomy: "autonomous", database: database)
            let run = try purser(["ingest", "-"] + database, data: dir.path, stdin: Self.input)
            #expect(run.status == 2, "\(run.stderr)")
            outcomes.append(run.lines.map { $0["outcome"] as? String ?? "" }.sorted())
            #expect(run.lines.first { $0["outcome"] as? String == "sent" }?["reply"] as? String == "Der SBF Binnen kostet 450 €.")
            if !database.isEmpty {
                // Everything went to PostgreSQL: the data directory holds read models, no log.
                #expect(!FileManager.default.fileExists(atPath: dir.path + "/eventlog/lz4.dict"))
                let segments = (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/eventlog")) ?? []
                #expect(!segments.contains { $0.hasSuffix(".seg") || $0.hasSuffix(".lz4") }, "\(segments)")
                // Fed again, the answered message is a duplicate and nothing is answered twice.
                let again = try purser(["ingest", "-"] + database, data: dir.path,
                                       stdin: String(Self.input.split(separator: "\n")[0]))
                #expect(again.lines.map { $0["outcome"] as? String } == ["duplicate"], "\(again.stdout)")
            }
            let verify = try purser(["log", "verify"] + database, data: dir.path)
            #expect(verify.status == 0, "\(verify.stderr)")
            let audit = try purser(["audit", "--org", "haff", "--format", "json"] + database, data: dir.path)
            #expect(audit.status == 0, "\(audit.stderr)")
        }
        #expect(outcomes[0] == ["duplicate", "rejected", "sent", "unrouted"])
        #expect(outcomes[1] == outcomes[0])
    }

    @Test func logAppendWritesToPostgresWithPerOrgPositionsAndDeDuplicates() throws {
        let url = try freshDatabase()
        let dir = TempDir()
        let lines = """
        {"id":"e1","org":"haff","stream":"s:1","type":"note.added","data":{"n":1}}
        {"id":"e2","org":"kite","stream":"s:1","type":"note.added","data":{"n":2}}
        {"id":"e1","org":"haff","stream":"s:1","type":"note.added","data":{"n":1}}
        {"org":"haff","type":"note.added"}
        {"id":"e3","org":"haff","stream":"s:1","type":"note.added","data":{"n":3}}
        """
        let run = try purser(["log", "append", "-", "--database", url], data: dir.path, stdin: lines)
        #expect(run.status == 2, "\(run.stderr)")
        // One answer per line (a rejected line's comes first, as it is known before the append).
        let answers = run.lines.sorted { ($0["line"] as? Int ?? 0) < ($1["line"] as? Int ?? 0) }
        #expect(answers.map { $0["seq"] as? Int } == [1, 1, 1, nil, 2], "\(run.stdout)")
        #expect(answers[2]["duplicate"] as? Bool == true)
        #expect(answers[3]["error"] != nil)
        let haff = try purser(["log", "cat", "--org", "haff", "--database", url], data: dir.path)
        #expect(haff.lines.map { $0["id"] as? String } == ["e1", "e3"], "\(haff.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/eventlog/lz4.dict"))
    }

    @Test func aHeldReplyIsApprovedOnceThroughPostgres() throws {
        let url = try freshDatabase()
        let dir = TempDir()
        let database = ["--database", url]
        try applyAgent(dir, autonomy: "supervised", database: database)
        let run = try purser(["ingest", "-"] + database, data: dir.path,
                             stdin: #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.a1"}"#)
        let held = try #require(run.lines.first)
        #expect(held["outcome"] as? String == "held", "\(run.stdout) \(run.stderr)")
        let approvalId = try #require(held["approvalId"] as? String)
        let sessionId = try #require(held["sessionId"] as? String)
        // A fresh data directory: the pending approval comes from the store, not local files.
        let other = TempDir()
        let listed = try purser(["approvals", "--org", "haff"] + database, data: other.path)
        #expect(listed.lines.map { $0["approvalId"] as? String } == [approvalId], "\(listed.stdout) \(listed.stderr)")
        let approved = try purser(["approve", "--org", "haff", approvalId] + database, data: other.path)
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(approved.lines.first?["outcome"] as? String == "sent")
        let again = try purser(["approve", "--org", "haff", approvalId] + database, data: dir.path)
        #expect(again.status == 1, "\(again.stdout)")
        // The session's org is found in the store's sessions when --org is left out, from any data directory.
        let show = try purser(["session", "show", sessionId] + database, data: TempDir().path)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.lines.contains { $0["text"] as? String == "Der SBF Binnen kostet 450 €." }, "\(show.stdout)")
        let takeover = try purser(["session", "takeover", sessionId] + database, data: TempDir().path)
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(takeover.lines.first?["outcome"] as? String == "handed_off", "\(takeover.stdout)")
    }
}

/// `purser serve --database`: the server's engine on PostgreSQL, over real HTTP.
@Suite("purser serve on PostgreSQL", .enabled(if: postgresTestsEnabled))
struct ServeOnPostgresTests {
    static let agent = """
    {"type":"org_agent","subtype":"primary","organizationId":"haff","name":"Sailing School Assistant","status":"active","customProperties":{"language":"de","faqEntries":[{"q":"Was kostet der SBF Binnen?","a":"Der SBF Binnen kostet 450 €."}],"autonomyLevel":"autonomous","maxMessagesPerDay":100,"maxCostPerDay":5.0,"channelBindings":[{"channel":"webchat","enabled":true,"address":"haff-web"}]}}
    """

    @Test func aWebchatMessageIsAnsweredWithEveryEventInPostgresAndTheServerStopsGracefully() throws {
        let url = try freshDatabase()
        let dir = TempDir()
        try Self.agent.write(toFile: dir.path + "/agent.json", atomically: true, encoding: .utf8)
        #expect(try purser(["agent", "apply", dir.path + "/agent.json", "--database", url], data: dir.path).status == 0)

        let server = Process()
        server.executableURL = URL(fileURLWithPath: purserBinary())
        server.arguments = ["serve", "--data", dir.path, "--port", "0", "--database", url]
        let errors = Pipe()
        server.standardError = errors
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        // The bound port, from the line `purser serve: http://127.0.0.1:PORT/ (dashboard)`.
        var seen = ""
        var port: String?
        let deadline = Date().addingTimeInterval(60)
        while port == nil, Date() < deadline, server.isRunning {
            seen += String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
            if let range = seen.range(of: #"127\.0\.0\.1:(\d+)/"#, options: .regularExpression) {
                port = String(seen[range].dropFirst("127.0.0.1:".count).dropLast())
            }
        }
        let bound = try #require(port, "the server did not say where it listens: \(seen)")
        // Ready: PostgreSQL answers and the schema is current.
        let ready = try runProcess("/usr/bin/curl", ["-s", "-w", " %{http_code}", "http://127.0.0.1:\(bound)/readyz"])
        #expect(ready.stdout == #"{"status":"ready"} 200"#, "\(ready.stdout) \(ready.stderr)")
        let message = #"{"channel":"webchat","to":"haff-web","from":"visitor-pg","text":"Was kostet der SBF Binnen?","externalMessageId":"web.pg.1"}"#
        let posted = try runProcess("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                                      "-H", "Content-Type: application/json", "--data", message,
                                                      "http://127.0.0.1:\(bound)/webhooks/webchat"])
        #expect(posted.stdout == "200", "\(posted.stdout) \(posted.stderr)")
        // A token created through PostgreSQL (from another data directory, as on another node) opens the API.
        let created = try purser(["token", "create", "--org", "haff", "--role", "viewer", "--label", "pg-test", "--database", url],
                                 data: TempDir().path)
        let secret = try #require(created.lines.first?["token"] as? String, "\(created.stdout) \(created.stderr)")
        let sessions = try runProcess("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(secret)",
                                                        "http://127.0.0.1:\(bound)/api/orgs/haff/sessions"])
        #expect(sessions.stdout == "200", "\(sessions.stdout) \(sessions.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/access/tokens.json"))

        server.terminate()  // SIGTERM: HTTP stops first, the store last
        server.waitUntilExit()
        seen += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(server.terminationStatus == 0, "\(seen)")
        #expect(seen.contains("event log closed"), "\(seen)")

        let sent = try purser(["log", "cat", "--org", "haff", "--type", "message.sent", "--database", url], data: dir.path)
        #expect(sent.stdout.contains("Der SBF Binnen kostet 450 €."), "\(sent.stdout) \(sent.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/eventlog/lz4.dict"))
    }
}
