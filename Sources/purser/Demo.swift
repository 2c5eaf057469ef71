import ArgumentParser
import EventLog
import Foundation

/// The main job, for now: the sailing school of the seed writes a short conversation into the
/// event log, which is then replayed, measured and verified. When the pipeline lands this runs
/// the same conversation through `ingest` on the offline provider.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the sailing school's example conversation to the log, then replay and verify it.",
        discussion: "Runs entirely offline. Running it again appends nothing new: the events carry fixed ids, and the log stores an id once."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let log = try EventLog.open(directory: global.eventLogDirectory)
        let org = "haff"
        let session = "session:ses_demo_max"
        var t = Timestamp.parse("2026-11-25T14:15:00Z")!
        func event(_ n: Int, _ stream: String, _ type: String, _ actor: Actor, _ data: String) -> EventDraft {
            t += 4_000
            return EventDraft(org: org, stream: stream, type: type, data: Array(data.utf8), actor: actor,
                              id: "demo-haff-\(n)", timestampMs: t, correlationId: "demo-haff-conversation")
        }
        let agent = Actor(.agent, "primary")
        let max = Actor(.customer, "+491701234567")
        let drafts = [
            event(1, "agent:primary", "agent.configured", Actor(.human, "owner@segelschule-haff.de"),
                  #"{"agentId":"primary","config":{"type":"org_agent","subtype":"primary","organizationId":"haff","name":"Sailing School Assistant","status":"active","customProperties":{"displayName":"Haff Assistant","language":"de","additionalLanguages":["en"],"autonomyLevel":"supervised","maxMessagesPerDay":100,"maxCostPerDay":5.0,"enabledTools":["crm_tool","booking_tool","data_query_tool"],"disabledTools":["bulk_crm_email_tool"],"requireApprovalFor":["bulk_email","delete_contact","financial"],"brandVoiceInstructions":"Always sign off with 'Mast- und Schotbruch!'","channelBindings":[{"channel":"whatsapp","enabled":true,"address":"+4939771234567"}]}}}"#),
            event(2, "object:course_sbf", "object.created", .system,
                  #"{"object":{"id":"course_sbf","type":"product","subtype":"course","name":"SBF Binnen","status":"active","customProperties":{"price":450.0,"nextStart":"2026-11-28T09:00:00Z"}}}"#),
            event(3, "object:c_17", "object.created", .system,
                  #"{"object":{"id":"c_17","type":"crm_contact","subtype":"customer","name":"Max Mustermann","status":"active","customProperties":{"phone":"+491701234567","country":"DE"}}}"#),
            event(4, session, "message.received", max,
                  #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Wann ist der nächste SBF-Kurs?","externalMessageId":"wamid.demo.1","contactName":"Max Mustermann"}"#),
            event(5, session, "contact.resolved", .system, #"{"contactId":"c_17","created":false,"phone":"+491701234567"}"#),
            event(6, session, "session.opened", .system, #"{"sessionId":"ses_demo_max","agentId":"primary","channel":"whatsapp","externalContactId":"+491701234567","crmContactId":"c_17"}"#),
            event(7, session, "tool.executed", agent, #"{"tool":"data_query_tool","category":"read","arguments":{"objectType":"product","filters":[{"field":"name","op":"eq","value":"SBF Binnen"}]},"result":{"total":1},"durationMs":2}"#),
            event(8, session, "llm.completed", agent, #"{"model":"offline","promptTokens":412,"completionTokens":38,"costUsd":0.0,"latencyMs":3}"#),
            event(9, session, "message.sent", agent, #"{"channel":"whatsapp","to":"+491701234567","text":"Der nächste SBF-Binnen-Kurs beginnt am Samstag, 28. November, um 9 Uhr (450 €). Mast- und Schotbruch!"}"#),
            event(10, session, "message.received", max, #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Super, bitte buch mich ein!","externalMessageId":"wamid.demo.2"}"#),
            event(11, session, "approval.requested", agent, #"{"approvalId":"apr_demo_1","tool":"booking_tool","category":"financial","arguments":{"courseId":"course_sbf","contactId":"c_17","price":450.0},"reason":"financial actions need approval"}"#),
            event(12, "spend:primary:2026-11-25", "cost.charged", .system, #"{"agentId":"primary","day":"2026-11-25","usd":0.0,"tokens":450,"model":"offline"}"#),
        ]
        let result = try log.appendSync(drafts)
        log.close()
        let fresh = result.duplicates.filter { !$0 }.count
        Output.note("appended \(fresh) event(s)\(fresh < drafts.count ? ", \(drafts.count - fresh) already in the log (same ids)" : "") to \(global.eventLogDirectory)")

        let reader = LogReader(directory: global.eventLogDirectory)
        Output.note("\nReplay of org haff:")
        try reader.scan(.init(org: org)) { r in
            let obj = (try? JSONSerialization.jsonObject(with: Data(r.json))) as? [String: Any] ?? [:]
            let actor = obj["actor"] as? [String: Any] ?? [:]
            let data = obj["data"] as? [String: Any] ?? [:]
            let time = (obj["ts"] as? String).map { String($0.dropFirst(11).prefix(5)) } ?? "--:--"
            let what = (data["text"] as? String).map { "“\($0)”" } ?? (data["tool"] as? String) ?? ((data["object"] as? [String: Any])?["name"] as? String) ?? ""
            Output.note("  \(time)  #\(r.seq)  \(r.type.padding(toLength: 18, withPad: " ", startingAt: 0)) \((actor["kind"] as? String ?? "").padding(toLength: 8, withPad: " ", startingAt: 0)) \(what)")
            Output.line(r.jsonString)
            return true
        }
        let stats = try reader.stats()
        let verify = try reader.verify()
        Output.note("\nLog: \(stats.events) events, \(stats.segments) segment(s), \(stats.rawBytes) bytes raw → \(stats.compressedBytes) compressed; verify: \(verify.ok ? "ok" : "\(verify.faults.count) fault(s)")")
        if !verify.ok { throw Exit.failure }
    }
}
