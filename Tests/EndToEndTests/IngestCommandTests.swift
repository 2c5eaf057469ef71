import Foundation
import PurserCore
import PurserTestSupport
import Testing

/// `purser ingest` and the operator commands, run as the built binary on real inputs.
@Suite struct IngestCommandTests {
    static let agent = """
    {"type":"org_agent","subtype":"primary","organizationId":"haff","name":"Sailing School Assistant","status":"active","customProperties":{"language":"de","additionalLanguages":["en"],"faqEntries":[{"q":"Was kostet der SBF Binnen?","a":"Der SBF Binnen kostet 450 €."},{"q":"Do you offer courses in English?","a":"Yes, on request."}],"enabledTools":["data_query_tool"],"autonomyLevel":"AUTONOMY","maxMessagesPerDay":100,"maxCostPerDay":5.0,"channelBindings":[{"channel":"whatsapp","enabled":true,"address":"+972 12-345-6789"},{"channel":"whatsapp","enabled":true,"address":"+4939771234567"}]}}
    """

    func setUp(_ dir: TempDir, autonomy: String = "autonomous") throws {
        let file = dir.path + "/agent.json"
        try Self.agent.replacingOccurrences(of: "AUTONOMY", with: autonomy).write(toFile: file, atomically: true, encoding: .utf8)
        let applied = try purser(["agent", "apply", file], data: dir.path)
        #expect(applied.status == 0, "\(applied.stderr)")
    }

    @Test func pipeOfJSONLinesGetsOneOutcomeLineEachAndKeepsBadLines() throws {
        let dir = TempDir()
        try setUp(dir)
        let input = """
        {"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.e1"}
        {"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.e1"}
        {"channel":"pigeon","to":"x","from":"y","text":"?"}
        {"channel":"whatsapp","to":"+4930000000","from":"+491701234567","text":"Hallo?","externalMessageId":"wamid.e3"}
        """
        let run = try purser(["ingest", "-"], data: dir.path, stdin: input)
        #expect(run.status == 2, "\(run.stderr)")
        let outcomes = run.lines.map { $0["outcome"] as? String ?? "" }
        #expect(outcomes.sorted() == ["duplicate", "rejected", "sent", "unrouted"])
        #expect(run.lines.first { $0["outcome"] as? String == "sent" }?["reply"] as? String == "Der SBF Binnen kostet 450 €.")
        #expect(run.stderr.contains("stdin:3"))
        let rejected = try purser(["log", "cat", "--type", "message.rejected"], data: dir.path)
        #expect(rejected.stdout.contains("pigeon"))
    }

    @Test func whatsAppWebhookSampleIsAnsweredAndStatusesAreRejected() throws {
        let dir = TempDir()
        try setUp(dir)
        let messages = try purser(["ingest", samplesDirectory() + "/whatsapp/pywa_message.json"], data: dir.path)
        #expect(messages.lines.contains { ["sent", "handed_off"].contains($0["outcome"] as? String ?? "") }, "\(messages.stdout)")
        #expect(!messages.lines.contains { $0["outcome"] as? String == "failed" })
        let statuses = try purser(["ingest", samplesDirectory() + "/whatsapp/pywa_message_status.json"], data: dir.path)
        #expect(!statuses.lines.isEmpty)
        #expect(statuses.lines.allSatisfy { $0["outcome"] as? String == "rejected" })
        #expect(statuses.status == 2)
    }

    @Test func mailboxAndEmailSamplesGoThroughAuto() throws {
        let dir = TempDir()
        try setUp(dir)
        for file in ["email/patchew/0035-rfc2047-from.mbox", "email/mikel/raw_email_reply.eml", "email/zbateson/m0004.txt", "twilio/inbound_sms_form_bodies.txt"] {
            let run = try purser(["ingest", samplesDirectory() + "/" + file], data: dir.path)
            #expect(!run.lines.isEmpty, "\(file): \(run.stderr)")
            #expect(!run.lines.contains { $0["outcome"] as? String == "failed" }, "\(file): \(run.stdout)")
        }
    }

    @Test func operatorApprovesAHeldReplyFromTheCommandLine() throws {
        let dir = TempDir()
        try setUp(dir, autonomy: "supervised")
        let run = try purser(["ingest", "-"], data: dir.path,
                             stdin: #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.a1"}"#)
        let held = try #require(run.lines.first)
        #expect(held["outcome"] as? String == "held")
        let approvalId = try #require(held["approvalId"] as? String)
        let sessionId = try #require(held["sessionId"] as? String)
        let listed = try purser(["approvals", "--org", "haff"], data: dir.path)
        #expect(listed.lines.map { $0["approvalId"] as? String } == [approvalId])
        #expect(try purser(["approvals", "--org", "other"], data: dir.path).lines.isEmpty)
        let wrongOrg = try purser(["approve", "--org", "other", approvalId], data: dir.path)
        #expect(wrongOrg.status == 1)
        let approved = try purser(["approve", "--org", "haff", "--edit", "Der SBF Binnen kostet 450 €, Prüfung extra.", approvalId], data: dir.path,
                                  env: ["PURSER_ACTOR": "anna"])
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(approved.lines.first?["outcome"] as? String == "sent")
        let again = try purser(["approve", "--org", "haff", approvalId], data: dir.path)
        #expect(again.status == 1)
        let show = try purser(["session", "show", "--org", "haff", sessionId], data: dir.path)
        #expect(show.stdout.contains("Prüfung extra"))
        #expect(try purser(["approvals", "--org", "haff", "--state", "granted"], data: dir.path).lines.first?["decidedBy"] as? String == "anna")
    }

    @Test func takeoverReplyReleaseFromTheCommandLine() throws {
        let dir = TempDir()
        try setUp(dir)
        let first = try purser(["ingest", "-"], data: dir.path,
                               stdin: #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.t1"}"#)
        let sessionId = try #require(first.lines.first?["sessionId"] as? String)
        #expect(try purser(["session", "takeover", "--org", "haff", sessionId], data: dir.path).status == 0)
        let during = try purser(["ingest", "-"], data: dir.path,
                                stdin: #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.t2"}"#)
        #expect(during.lines.first?["outcome"] as? String == "handed_off")
        #expect(try purser(["session", "reply", "--org", "haff", sessionId, "Moin, hier ist Anna."], data: dir.path).status == 0)
        #expect(try purser(["session", "release", "--org", "haff", sessionId], data: dir.path).status == 0)
        let sessions = try purser(["sessions", "--org", "haff"], data: dir.path)
        #expect(sessions.lines.first?["status"] as? String == "active")
        let spend = try purser(["spend", "--org", "haff"], data: dir.path)
        #expect(spend.lines.first?["messages"] as? Int == 1)
        #expect(spend.lines.first?["maxMessagesPerDay"] as? Int == 100)
    }

    /// A connector takes a message from the outbox, sends it, acknowledges it with the channel's
    /// id; WhatsApp's later "read" status for that id is recorded against the same message.
    @Test func outboxAckAndAWhatsAppStatusFindTheirMessage() throws {
        let dir = TempDir()
        try setUp(dir)
        let sent = try purser(["ingest", "-"], data: dir.path,
                              stdin: #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.o1"}"#)
        let replyId = try #require(sent.lines.first?["replyId"] as? String)
        let pending = try purser(["outbox"], data: dir.path)
        #expect(pending.lines.map { $0["messageId"] as? String } == [replyId])
        #expect(pending.lines.first?["to"] as? String == "+491701234567")
        let ack = try purser(["outbox", "ack", "--external-id", "wamid.sent.1", replyId], data: dir.path)
        #expect(ack.status == 0, "\(ack.stderr)")
        #expect(try purser(["outbox"], data: dir.path).lines.isEmpty)
        #expect(try purser(["outbox", "ack", "msg_nope"], data: dir.path).status == 1)
        let status = """
        {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"4939771234567","phone_number_id":"1"},
        "statuses":[{"id":"wamid.sent.1","status":"read","timestamp":"1764064800","recipient_id":"491701234567"}]}}]}]}
        """.replacingOccurrences(of: "\n", with: "")
        let read = try purser(["ingest", "--format", "whatsapp", "-"], data: dir.path, stdin: status)
        #expect(read.status == 0, "\(read.stdout) \(read.stderr)")
        #expect(read.lines.first?["reason"] as? String == "status read")
        let delivered = try purser(["log", "cat", "--type", "message.delivered"], data: dir.path).lines
        #expect(delivered.count == 2)
        #expect((delivered.last?["data"] as? [String: Any])?["status"] as? String == "read")
    }

    /// The forms without --org (docs/CLI.md): approval and session ids are unique, so the org is theirs.
    @Test func approveAndSessionCommandsFindTheOrgThemselves() throws {
        let dir = TempDir()
        try setUp(dir, autonomy: "supervised")
        let run = try purser(["ingest", "-"], data: dir.path,
                             stdin: #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Was kostet der SBF Binnen?","externalMessageId":"wamid.n1"}"#)
        let approvalId = try #require(run.lines.first?["approvalId"] as? String)
        let sessionId = try #require(run.lines.first?["sessionId"] as? String)
        #expect(try purser(["approvals"], data: dir.path).lines.map { $0["org"] as? String } == ["haff"])
        #expect(try purser(["sessions"], data: dir.path).lines.count == 1)
        #expect(try purser(["approve", "--org", "other", approvalId], data: dir.path).status == 1)
        let approved = try purser(["approve", approvalId], data: dir.path)
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(try purser(["session", "show", sessionId], data: dir.path).stdout.contains("450"))
        #expect(try purser(["session", "takeover", sessionId], data: dir.path).status == 0)
        #expect(try purser(["session", "show", "ses_nope"], data: dir.path).status == 1)
    }
}
