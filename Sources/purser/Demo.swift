import ArgumentParser
import AuditProjection
import EventLog
import Foundation
import SpendProjection

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
        func event(_ n: Int, _ stream: String, _ type: String, _ actor: Actor, _ data: String, version: Int = 1) -> EventDraft {
            t += 4_000
            return EventDraft(org: org, stream: stream, type: type, version: version, data: Array(data.utf8), actor: actor,
                              id: "demo-haff-\(n)", timestampMs: t, correlationId: "demo-haff-conversation")
        }
        let agent = Actor(.agent, "primary")
        let max = Actor(.customer, "+491701234567")
        let config = #"{"type":"org_agent","subtype":"primary","organizationId":"haff","name":"Sailing School Assistant","status":"active","customProperties":{"displayName":"Haff Assistant","personality":"friendly, professional, nautical terminology","language":"de","additionalLanguages":["en"],"brandVoiceInstructions":"Always sign off with 'Mast- und Schotbruch!'","systemPrompt":"You are the AI assistant for Segelschule am Stettiner Haff.","knowledgeDocIds":[],"faqEntries":[{"q":"Wo finde ich euch?","a":"Am Stettiner Haff, direkt am Hafen."},{"q":"Was kostet der SBF Binnen?","a":"Der SBF Binnen kostet 450 €."}],"enabledTools":["crm_tool","booking_tool","data_query_tool"],"disabledTools":["bulk_crm_email_tool"],"autonomyLevel":"supervised","maxMessagesPerDay":100,"maxCostPerDay":5.0,"requireApprovalFor":["bulk_email","delete_contact","financial"],"blockedTopics":["competitor pricing","legal advice"],"modelProvider":"anthropic","modelId":"claude-sonnet-4-20250514","temperature":0.7,"maxTokens":4096,"channelBindings":[{"channel":"whatsapp","enabled":true,"address":"+4939771234567"}]}}"#
        let drafts = [
            event(1, "agent:primary", "agent.configured", Actor(.human, "owner@segelschule-haff.de"),
                  #"{"agentId":"primary","revision":1,"config":"# + config + "}"),
            event(2, "object:course_sbf", "object.created", .system,
                  #"{"object":{"id":"course_sbf","type":"product","subtype":"course","name":"SBF Binnen","status":"active","customProperties":{"price":450.0,"nextStart":"2026-11-28T09:00:00Z"},"createdAt":"2026-01-10T09:00:00Z"}}"#),
            event(3, "object:c_17", "object.created", .system,
                  #"{"object":{"id":"c_17","type":"crm_contact","subtype":"customer","name":"Max Mustermann","status":"active","customProperties":{"phone":"+491701234567","country":"DE"},"createdAt":"2025-03-01T09:00:00Z"}}"#),
            event(4, session, "message.received", max,
                  #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Wann ist der nächste SBF-Kurs?","externalMessageId":"wamid.demo.1","receivedAt":"2026-11-25T14:15:04Z","contactName":"Max Mustermann","references":[],"attachments":[],"agentId":"primary","sessionId":"ses_demo_max"}"#, version: 2),
            event(5, session, "contact.resolved", .system, #"{"channel":"whatsapp","externalContactId":"+491701234567","crmContactId":"c_17","matchedBy":"phone","sessionId":"ses_demo_max"}"#),
            event(6, session, "session.opened", .system, #"{"sessionId":"ses_demo_max","agentId":"primary","channel":"whatsapp","externalContactId":"+491701234567","crmContactId":"c_17","internalSession":false}"#),
            event(7, session, "tool.executed", agent, #"{"agentId":"primary","sessionId":"ses_demo_max","callId":"call_demo_1","tool":"data_query_tool","arguments":{"objectType":"product","filters":[{"field":"name","op":"eq","value":"SBF Binnen"}]},"result":{"objectType":"product","total":1,"limit":50,"offset":0,"items":[{"id":"course_sbf","name":"SBF Binnen"}]},"durationMs":2}"#),
            event(8, session, "llm.completed", agent, #"{"agentId":"primary","sessionId":"ses_demo_max","provider":"offline","model":"offline","promptTokens":412,"completionTokens":38,"costUsd":0.0,"costSource":"free","latencyMs":3,"finishReason":"stop","iteration":1,"toolCallIds":[]}"#),
            event(9, session, "message.sent", agent, #"{"messageId":"msg_demo_1","agentId":"primary","sessionId":"ses_demo_max","channel":"whatsapp","to":"+491701234567","text":"Der nächste SBF-Binnen-Kurs beginnt am Samstag, 28. November, um 9 Uhr (450 €). Mast- und Schotbruch!"}"#),
            event(10, session, "message.received", max, #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Super, bitte buch mich ein!","externalMessageId":"wamid.demo.2","receivedAt":"2026-11-25T14:15:40Z","references":[],"attachments":[],"agentId":"primary","sessionId":"ses_demo_max"}"#, version: 2),
            event(11, session, "approval.requested", agent, #"{"approvalId":"apr_demo_1","agentId":"primary","sessionId":"ses_demo_max","kind":"tool_call","callId":"call_demo_2","tool":"booking_tool","arguments":{"action":"create","courseId":"course_sbf","contactId":"c_17","price":450.0},"category":"financial","rule":"requireApprovalFor","summary":"Book Max Mustermann into SBF Binnen for 450 €","expiresAt":"2026-11-26T14:15:44Z"}"#),
            event(12, "spend:primary:2026-11-25", "cost.charged", .system, #"{"agentId":"primary","sessionId":"ses_demo_max","day":"2026-11-25","usd":0.0,"tokens":450,"promptTokens":412,"completionTokens":38,"messages":1,"model":"offline","reservationId":"res_demo_1","reservedUsd":0.0}"#),
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
        // The read models the operator would look at, caught up from the log.
        let audit = try ReadModels.current(AuditProjector.name, global)
        for a in try audit.read({ try AuditQueries.approvals($0, org: org, state: "pending") }) {
            Output.note("\nHeld for approval: \(a.approvalId) — \(a.summary) (rule \(a.rule), expires \(a.expiresAt))")
        }
        let spend = try ReadModels.current(SpendProjector.name, global)
        for r in try spend.read({ try SpendQueries.spend($0, org: org, day: "2026-11-25") }) {
            Output.note("Spend \(r.day), agent \(r.agentId): \(r.messages) message(s), \(r.tokens) tokens, $\(String(format: "%.4f", r.usd)) of $5.00 cap")
        }
        let stats = try reader.stats()
        let verify = try reader.verify()
        Output.note("\nLog: \(stats.events) events, \(stats.segments) segment(s), \(stats.rawBytes) bytes raw → \(stats.compressedBytes) compressed; verify: \(verify.ok ? "ok" : "\(verify.faults.count) fault(s)")")
        if !verify.ok { throw Exit.failure }
    }
}
