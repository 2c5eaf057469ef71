import Foundation
import PurserCore
import PurserTestSupport
import Testing

/// `purser replay` and `purser audit` on histories appended through `purser log append`.
@Suite struct AuditReplayTests {
    /// Envelope lines for `purser log append`, one conversation's worth at a time.
    struct Lines {
        var org: String
        var minute = 0
        var out: [String] = []

        init(_ org: String) { self.org = org }

        mutating func add(_ stream: String, _ type: String, _ kind: String, _ id: String, _ data: String, v: Int = 1) {
            minute += 1
            let ts = String(format: "2026-11-25T%02d:%02d:00Z", 10 + minute / 60, minute % 60)
            out.append(#"{"org":"\#(org)","stream":"\#(stream)","type":"\#(type)","v":\#(v),"ts":"\#(ts)","actor":{"kind":"\#(kind)","id":"\#(id)"},"data":\#(data)}"#)
        }

        mutating func configure(autonomy: String = "supervised", approvalFor: String = #"["bulk_email","delete_contact","financial"]"#, disabled: String = #"["bulk_crm_email_tool"]"#) {
            add("agent:primary", "agent.configured", "human", "anna", #"{"agentId":"primary","revision":1,"config":{"type":"org_agent","subtype":"primary","organizationId":"\#(org)","name":"Assistant","status":"active","customProperties":{"displayName":"Assistant","personality":"","language":"de","additionalLanguages":[],"brandVoiceInstructions":"","systemPrompt":"","knowledgeDocIds":[],"faqEntries":[],"enabledTools":["crm_tool","booking_tool","data_query_tool"],"disabledTools":\#(disabled),"autonomyLevel":"\#(autonomy)","maxMessagesPerDay":100,"maxCostPerDay":5.0,"requireApprovalFor":\#(approvalFor),"blockedTopics":[],"modelProvider":"anthropic","modelId":"m","temperature":0.7,"maxTokens":4096,"channelBindings":[]}}}"#)
        }

        mutating func object(_ id: String) {
            add("object:\(id)", "object.created", "system", "import", #"{"object":{"id":"\#(id)","type":"crm_contact","name":"\#(id)","customProperties":{}}}"#)
        }

        /// A clean supervised turn: question, a read query, an LLM call and its charge, a reply
        /// drafted, approved by a human and sent.
        mutating func turn(_ s: String, _ n: Int, open: Bool = true) {
            if open {
                add("session:\(s)", "session.opened", "system", "ingest", #"{"sessionId":"\#(s)","agentId":"primary","channel":"whatsapp","externalContactId":"+491701234567","internalSession":false}"#)
            }
            add("session:\(s)", "message.received", "customer", "+491701234567", #"{"channel":"whatsapp","from":"+491701234567","to":"+4939771234567","text":"Welche Buchungen habe ich nächste Woche?","receivedAt":"2026-11-25T10:00:00Z","references":[],"attachments":[],"agentId":"primary","sessionId":"\#(s)"}"#, v: 2)
            add("session:\(s)", "tool.executed", "agent", "primary", #"{"agentId":"primary","sessionId":"\#(s)","callId":"q\#(n)","tool":"data_query_tool","arguments":{"objectType":"booking"},"result":{"objectType":"booking","total":3,"limit":50,"offset":0,"items":[]},"durationMs":2}"#)
            add("session:\(s)", "llm.completed", "agent", "primary", #"{"agentId":"primary","sessionId":"\#(s)","provider":"offline","model":"offline","promptTokens":400,"completionTokens":40,"costUsd":0.0123,"costSource":"price_table","latencyMs":3,"iteration":1,"toolCallIds":[],"reservationId":"r\#(s)\#(n)"}"#)
            add("spend:primary:2026-11-25", "cost.charged", "agent", "primary", #"{"agentId":"primary","sessionId":"\#(s)","day":"2026-11-25","usd":0.0123,"tokens":440,"promptTokens":400,"completionTokens":40,"messages":1,"model":"offline","reservationId":"r\#(s)\#(n)","reservedUsd":0.05}"#)
            add("session:\(s)", "message.drafted", "agent", "primary", #"{"messageId":"m\#(s)\#(n)","agentId":"primary","sessionId":"\#(s)","channel":"whatsapp","to":"+491701234567","text":"Du hast 3 Buchungen.","approvalId":"a\#(s)\#(n)"}"#)
            add("session:\(s)", "approval.requested", "agent", "primary", #"{"approvalId":"a\#(s)\#(n)","agentId":"primary","sessionId":"\#(s)","kind":"reply","messageId":"m\#(s)\#(n)","replyText":"Du hast 3 Buchungen.","rule":"autonomy.supervised","summary":"reply","expiresAt":"2026-11-26T10:00:00Z"}"#)
            add("approval:a\(s)\(n)", "approval.granted", "human", "anna", #"{"approvalId":"a\#(s)\#(n)","decidedBy":"anna","diff":[]}"#)
            add("session:\(s)", "message.sent", "agent", "primary", #"{"messageId":"m\#(s)\#(n)","agentId":"primary","sessionId":"\#(s)","channel":"whatsapp","to":"+491701234567","text":"Du hast 3 Buchungen.","approvalId":"a\#(s)\#(n)"}"#)
        }

        var text: String { out.joined(separator: "\n") + "\n" }
    }

    /// Three orgs, their conversations interleaved line by line.
    static func multiOrgLog(_ dir: TempDir) throws -> [String: Int] {
        var ls = ["haff", "kiel", "sylt"].map(Lines.init)
        for i in ls.indices { ls[i].configure(); ls[i].object("c_17") }
        for n in 1...3 { for i in ls.indices { ls[i].turn("s\(n)", n) } }
        var interleaved: [String] = []
        for k in 0..<ls.map(\.out.count).max()! { for l in ls where k < l.out.count { interleaved.append(l.out[k]) } }
        // Small chunks, so the orgs share batches and segments.
        for chunk in stride(from: 0, to: interleaved.count, by: 7) {
            let r = try purser(["log", "append", "-"], data: dir.path, stdin: interleaved[chunk..<min(interleaved.count, chunk + 7)].joined(separator: "\n") + "\n")
            #expect(r.status == 0, "\(r.stderr)")
        }
        return Dictionary(uniqueKeysWithValues: ls.map { ($0.org, $0.out.count) })
    }

    @Test func replayOfOneOrgReturnsExactlyItsEventsInOrder() throws {
        let dir = TempDir()
        let counts = try Self.multiOrgLog(dir)
        let all = try purser(["log", "cat"], data: dir.path).lines
        for org in ["haff", "kiel", "sylt"] {
            let r = try purser(["replay", "--org", org, "--format", "jsonl"], data: dir.path)
            #expect(r.status == 0, "\(r.stderr)")
            let seqs = r.lines.map { $0["seq"] as? Int ?? -1 }
            #expect(seqs.count == counts[org])
            #expect(seqs == all.filter { $0["org"] as? String == org }.map { $0["seq"] as? Int ?? -2 })
            #expect(seqs == seqs.sorted())
            #expect(r.lines.allSatisfy { $0["org"] as? String == org })
        }
        // Filters: session (includes its charges on the spend stream), type, seq and time bounds.
        let s2 = try purser(["replay", "--org", "kiel", "--session", "s2", "--format", "jsonl"], data: dir.path).lines
        // Its approval decision lives on `approval:as22` without a sessionId and still belongs to it.
        #expect(s2.count == 9 && s2.allSatisfy { ($0["data"] as? [String: Any])?["sessionId"] as? String == "s2" || ($0["stream"] as? String) == "approval:as22" })
        #expect(s2.filter { $0["type"] as? String == "cost.charged" }.count == 1)
        let tools = try purser(["replay", "--org", "kiel", "--type", "tool.", "--format", "jsonl"], data: dir.path).lines
        #expect(tools.count == 3 && tools.allSatisfy { $0["type"] as? String == "tool.executed" })
        let kiel = all.filter { $0["org"] as? String == "kiel" }.map { $0["seq"] as! Int }
        let window = try purser(["replay", "--org", "kiel", "--since", "\(kiel[3])", "--until", "\(kiel[6])", "--format", "jsonl"], data: dir.path).lines
        #expect(window.map { $0["seq"] as? Int } == Array(kiel[3...6]))
        let timed = try purser(["replay", "--org", "kiel", "--since", "2026-11-25T10:03:00Z", "--until", "2026-11-25T10:05:00Z", "--format", "jsonl"], data: dir.path).lines
        #expect(timed.map { $0["seq"] as? Int } == Array(kiel[2...4])) // minutes 3, 4, 5 of kiel's lines
        let bad = try purser(["replay", "--org", "kiel", "--since", "yesterday"], data: dir.path)
        #expect(bad.status == 2 && bad.stderr.contains("ISO-8601"))
    }

    @Test func textReplayReadsLikeAnActivityLog() throws {
        let dir = TempDir()
        _ = try Self.multiOrgLog(dir)
        let r = try purser(["replay", "--org", "haff"], data: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let text = r.stdout
        #expect(text.contains("Organization haff"))
        #expect(text.contains("Session s1 — whatsapp +491701234567, agent primary"))
        #expect(text.contains("Queried 3 bookings"))
        #expect(text.contains("customer  Wrote on whatsapp from +491701234567"))
        #expect(text.contains("human:anna  Approved as11 (by anna)"))
        #expect(text.contains("Charged $0.0123"))
        #expect(text.contains("cost: 1 LLM call, 440 tokens, $0.0123 charged"))
        #expect(!text.contains("kiel") && !text.contains("sylt"))
        // Lines look like "  10:03  agent     Queried 3 bookings  #12".
        #expect(text.split(separator: "\n").contains { $0.range(of: #"^  \d\d:\d\d  agent     Queried 3 bookings.*#\d+$"#, options: .regularExpression) != nil })
    }

    /// The pipeline's own history (`purser demo`: config, objects, conversations under
    /// supervised with approvals, a handoff, charges) audits clean.
    @Test func pipelineDemoHistoryAuditsClean() throws {
        let dir = TempDir()
        let demo = try purser(["demo"], data: dir.path)
        #expect(demo.status == 0, "\(demo.stderr)")
        let r = try purser(["audit", "--org", "haff", "--format", "json"], data: dir.path)
        #expect(r.status == 0, "\(r.stdout)")
        let doc = r.lines.first ?? [:]
        #expect(doc["ok"] as? Bool == true && (doc["events"] as? Int ?? 0) > 10)
        let checks = doc["checks"] as? [[String: Any]] ?? []
        #expect(checks.first { $0["check"] as? String == "llm.charged" }?["checked"] as? Int ?? 0 > 0)
        #expect(checks.first { $0["check"] as? String == "scope.session" }?["checked"] as? Int ?? 0 > 0)
    }

    @Test func cleanHistoryAuditsCleanAndEachSeededViolationFails() throws {
        let dir = TempDir()
        _ = try Self.multiOrgLog(dir)
        let clean = try purser(["audit", "--org", "haff", "--format", "json"], data: dir.path)
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        #expect(clean.lines.first?["ok"] as? Bool == true)

        var bad = Lines("haff")
        bad.minute = 500
        bad.add("session:s1", "message.sent", "agent", "primary", #"{"messageId":"x1","agentId":"primary","sessionId":"s1","channel":"whatsapp","to":"+491701234567","text":"ohne Freigabe"}"#)
        bad.add("session:s1", "tool.executed", "agent", "primary", #"{"agentId":"primary","sessionId":"s1","callId":"x2","tool":"bulk_crm_email_tool","arguments":{"subject":"Hi"},"result":{},"durationMs":1}"#)
        let appended = try purser(["log", "append", "-"], data: dir.path, stdin: bad.text).lines.compactMap { $0["seq"] as? Int }
        #expect(appended.count == 2)
        let r = try purser(["audit", "--org", "haff", "--format", "json"], data: dir.path)
        #expect(r.status == 1)
        let doc = r.lines.first ?? [:]
        let violations = doc["violations"] as? [[String: Any]] ?? []
        #expect(violations.map { $0["rule"] as? String } == ["send.supervised", "tool.policy"])
        #expect(violations.map { $0["seq"] as? Int } == appended)
        let checks = doc["checks"] as? [[String: Any]] ?? []
        #expect(checks.first { $0["check"] as? String == "send.supervised" }?["violations"] as? Int == 1)
        // Other orgs are unaffected.
        #expect(try purser(["audit", "--org", "kiel"], data: dir.path).status == 0)
        let text = try purser(["audit", "--org", "haff"], data: dir.path)
        #expect(text.status == 1 && text.stdout.contains("#\(appended[0])  send.supervised"))
    }

    @Test func whatIfListsPastActionsTheProposedConfigWouldDenyOrHold() throws {
        let dir = TempDir()
        var l = Lines("haff")
        l.configure(autonomy: "autonomous", approvalFor: "[]")
        l.object("c_17")
        l.add("session:s1", "session.opened", "system", "ingest", #"{"sessionId":"s1","agentId":"primary","channel":"whatsapp","externalContactId":"+491701234567","internalSession":false}"#)
        l.add("session:s1", "tool.executed", "agent", "primary", #"{"agentId":"primary","sessionId":"s1","callId":"c1","tool":"crm_tool","arguments":{"action":"update","contactId":"c_17"},"result":{},"durationMs":1}"#)
        l.add("session:s1", "message.sent", "agent", "primary", #"{"messageId":"m1","agentId":"primary","sessionId":"s1","channel":"whatsapp","to":"+491701234567","text":"Erledigt."}"#)
        let seqs = try purser(["log", "append", "-"], data: dir.path, stdin: l.text).lines.compactMap { $0["seq"] as? Int }
        #expect(try purser(["audit", "--org", "haff"], data: dir.path).status == 0)
        let config = dir.path + "/proposed.json"
        try #"{"type":"org_agent","organizationId":"haff","name":"Assistant","customProperties":{"enabledTools":["data_query_tool"],"disabledTools":["crm_tool"],"autonomyLevel":"draft_only"}}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        let r = try purser(["audit", "--org", "haff", "--config", config, "--format", "json"], data: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let findings = r.lines.first?["whatIf"] as? [[String: Any]] ?? []
        #expect(findings.map { $0["seq"] as? Int } == [seqs[3], seqs[4]])
        #expect(findings.map { $0["decision"] as? String } == ["deny", "deny"])
        #expect(findings.map { $0["rule"] as? String } == ["disabled_tools", "autonomy.draft_only"])
        let bad = try purser(["audit", "--org", "haff", "--config", dir.path + "/missing.json"], data: dir.path)
        #expect(bad.status == 2)
    }

    /// Schema evolution through the binary: `message.received` v1 lines (`sender`, `recipient`,
    /// `mediaUrls`) appended as they were written then, beside a v2 line; the sessions read model
    /// and replay both read them as v2, while the log keeps the v1 bytes. (The projection
    /// schema-version bump and its rebuild are shown in AuditTests/SchemaEvolutionTests.)
    @Test func v1MessagesReadAsV2BySessionsAndReplay() throws {
        let dir = TempDir()
        let lines = """
        {"org":"haff","stream":"session:s1","type":"message.received","v":1,"actor":{"kind":"customer","id":"+49 170 1234567"},"data":{"channel":"whatsapp","sender":"+49 170 1234567","recipient":"+49 3977 1234567","text":"Moin, habt ihr noch Plätze?","receivedAt":"2025-06-01T09:00:00Z","mediaUrls":["https://cdn.example/boot.jpg"]}}
        {"org":"haff","stream":"session:s1","type":"message.received","v":2,"actor":{"kind":"customer","id":"+491701234567"},"data":{"channel":"whatsapp","from":"+491701234567","to":"+4939771234567","text":"Danke!","receivedAt":"2026-11-25T10:00:00Z","references":[],"attachments":[],"agentId":"primary","sessionId":"s1"}}
        """
        #expect(try purser(["log", "append", "-"], data: dir.path, stdin: lines + "\n").status == 0)
        let sessions = try purser(["sessions", "--org", "haff"], data: dir.path)
        #expect(sessions.status == 0, "\(sessions.stderr)")
        #expect(sessions.lines.map { $0["contact"] as? String } == ["+491701234567"])
        #expect(sessions.lines.first?["messages"] as? Int == 2)
        let status = try purser(["projections", "status"], data: dir.path).lines.first { $0["name"] as? String == "sessions" }
        #expect(status?["checkpoint"] as? Int == 2 && status?["skippedEvents"] as? Int == 0)
        let text = try purser(["replay", "--org", "haff"], data: dir.path).stdout
        #expect(text.components(separatedBy: "Wrote on whatsapp from +491701234567").count == 3, "\(text)")
        #expect(text.contains("(+1 attachment)"))
        let raw = try purser(["replay", "--org", "haff", "--format", "jsonl"], data: dir.path).lines
        #expect((raw.first?["data"] as? [String: Any])?["sender"] as? String == "+49 170 1234567")
        #expect(raw.first?["v"] as? Int == 1)
    }

    /// Batches of a segment, walked by FORMAT.md: a 76-byte segment header frame, then per
    /// batch a skippable header frame (magic, u32 size, payload with dataBytes at offset 32)
    /// followed by dataBytes of LZ4 frames.
    static func batches(_ bytes: [UInt8]) -> [(offset: Int, end: Int, firstSeq: Int)] {
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
        var out: [(Int, Int, Int)] = []
        var at = 76
        while at + 8 <= bytes.count, u32(at) == 0x184D_2A51 {
            let size = u32(at + 4)
            let end = at + 8 + size + u64(at + 8 + 32)
            out.append((at, end, u64(at + 8 + 8)))
            at = end
        }
        return out
    }

    enum Tampering: String, CaseIterable { case byteEdited, batchDeleted, batchesReordered, middleCut }

    @Test(arguments: Tampering.allCases)
    func tamperingIsNamedByLogVerifyAndAudit(_ kind: Tampering) throws {
        let dir = TempDir()
        _ = try Self.multiOrgLog(dir)
        let segment = "00000000000000000001.lz4"
        let path = dir.path + "/eventlog/segments/" + segment
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let bs = Self.batches(bytes)
        #expect(bs.count >= 6)
        let b = bs[2], next = bs[3]
        switch kind {
        case .byteEdited: bytes[(b.offset + b.end) / 2 + 4] ^= 0x01
        case .batchDeleted: bytes.removeSubrange(b.offset..<b.end)
        case .batchesReordered: bytes.replaceSubrange(b.offset..<next.end, with: Array(bytes[next.offset..<next.end]) + Array(bytes[b.offset..<b.end]))
        case .middleCut: bytes.removeSubrange((b.offset + 30)..<(next.offset + 30))
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try? FileManager.default.removeItem(atPath: dir.path + "/eventlog/index")

        let verify = try purser(["log", "verify"], data: dir.path)
        #expect(verify.status == 1, "\(kind): \(verify.stderr)")
        #expect(verify.stderr.contains("FAULT \(segment) @"))
        let faults = verify.lines.filter { $0["fault"] != nil }
        #expect(faults.contains { f in
            let first = f["firstSeq"] as? Int, offset = f["offset"] as? Int
            return (first.map { $0 >= b.firstSeq - 1 && $0 <= next.firstSeq + 8 } ?? false) || offset.map { $0 >= b.offset && $0 <= next.end } == true
        }, "\(faults)")
        let audit = try purser(["audit", "--org", "haff", "--format", "json"], data: dir.path)
        #expect(audit.status == 1)
        let violations = audit.lines.first?["violations"] as? [[String: Any]] ?? []
        #expect(violations.contains { $0["rule"] as? String == "log.integrity" && ($0["detail"] as? String ?? "").contains(segment) }, "\(audit.stdout)")
    }
}
