import EventLog
import Foundation

/// Pipeline traffic with payloads in the catalog's current shapes, so every read model decodes
/// and applies them: per org an agent config and a few CRM objects, then conversations of
/// message.received → contact.resolved → session.opened → llm.completed → tool.requested →
/// tool.executed → llm.completed → cost.charged → message.sent → message.delivered.
struct ProjectionWorkload {
    var rng: Xorshift
    let orgs: Int
    var counter = 0
    var pending: [EventDraft] = []
    var sessionsOpened = Set<String>()
    let baseMs: Int64 = 1_795_600_000_000

    init(seed: UInt64, orgs: Int) {
        rng = Xorshift(seed: seed)
        self.orgs = orgs
    }

    func orgName(_ n: Int) -> String { "org-" + String(repeating: "0", count: max(0, 4 - String(n).count)) + String(n) }

    mutating func next() -> EventDraft {
        if pending.isEmpty { refill() }
        return pending.removeFirst()
    }

    private mutating func draft(_ org: String, _ stream: String, _ type: String, _ data: String, _ actor: Actor) -> EventDraft {
        counter += 1
        // message.received is at v2 in the catalog; everything else here is v1.
        return EventDraft(org: org, stream: stream, type: type, version: type == "message.received" ? 2 : 1, data: Array(data.utf8),
                          actor: actor, timestampMs: baseMs + Int64(counter) * 10)
    }

    private mutating func refill() {
        // The org setup comes first, once per org.
        if counter < orgs * 4 {
            for n in 0..<orgs {
                let org = orgName(n)
                let phone = "+4939771\(100_000 + n)"
                pending.append(draft(org, "agent:primary", "agent.configured",
                                     #"{"agentId":"primary","revision":1,"config":{"type":"org_agent","subtype":"primary","organizationId":"\#(org)","name":"Assistant","status":"active","customProperties":{"displayName":"Assistant","personality":"","language":"de","additionalLanguages":[],"brandVoiceInstructions":"","systemPrompt":"","knowledgeDocIds":[],"faqEntries":[],"enabledTools":["data_query_tool"],"disabledTools":[],"autonomyLevel":"autonomous","maxMessagesPerDay":100,"maxCostPerDay":5,"requireApprovalFor":["financial"],"blockedTopics":[],"modelProvider":"anthropic","modelId":"claude","temperature":0.7,"maxTokens":4096,"channelBindings":[{"channel":"whatsapp","enabled":true,"address":"\#(phone)"}]}}}"#,
                                     Actor(.human, "owner")))
                for k in 0..<3 {
                    pending.append(draft(org, "object:c_\(k)", "object.created",
                                         #"{"object":{"id":"c_\#(k)","type":"crm_contact","subtype":"customer","name":"Kunde \#(k)","status":"active","customProperties":{"phone":"+49170\#(1_000_000 + k)","email":"kunde\#(k)@example.de","country":"DE"}}}"#,
                                         .system))
                }
            }
            return
        }
        let org = orgName(Int(rng.next() % UInt64(orgs)))
        let session = "ses_" + String(rng.next() % 50_000, radix: 36)
        let stream = "session:" + session
        let customer = "+49170\(1_000_000 + rng.next() % 9_000_000)"
        let text = Workload.texts[Int(rng.next() % UInt64(Workload.texts.count))]
        let agent = Actor(.agent, "primary")
        let call = "call_\(rng.next() % 1_000_000_000)"
        let message = "msg_\(rng.next() % 1_000_000_000)"
        pending.append(draft(org, stream, "message.received",
                             #"{"channel":"whatsapp","from":"\#(customer)","to":"+4939771234567","text":"\#(text)","externalMessageId":"wamid.HBgL\#(rng.next())","receivedAt":"2026-11-25T10:00:00Z","contactName":"Max Mustermann","references":[],"attachments":[],"agentId":"primary","sessionId":"\#(session)"}"#,
                             Actor(.customer, customer)))
        pending.append(draft(org, stream, "contact.resolved",
                             #"{"channel":"whatsapp","externalContactId":"\#(customer)","crmContactId":"c_\#(rng.next() % 3)","matchedBy":"phone","sessionId":"\#(session)"}"#, .system))
        if sessionsOpened.insert(org + session).inserted {
            pending.append(draft(org, stream, "session.opened",
                                 #"{"sessionId":"\#(session)","agentId":"primary","channel":"whatsapp","externalContactId":"\#(customer)","crmContactId":"c_1","internalSession":false}"#, .system))
        }
        let p1 = 1000 + rng.next() % 3000, c1 = rng.next() % 400
        pending.append(draft(org, stream, "llm.completed",
                             #"{"agentId":"primary","sessionId":"\#(session)","provider":"openrouter","model":"anthropic/claude-sonnet-4","generationId":"gen-\#(rng.next())","promptTokens":\#(p1),"completionTokens":\#(c1),"costUsd":0.00\#(rng.next() % 9000),"costSource":"reported","latencyMs":\#(rng.next() % 2000),"finishReason":"tool_calls","iteration":0,"toolCallIds":["\#(call)"]}"#, agent))
        pending.append(draft(org, stream, "tool.requested",
                             #"{"agentId":"primary","sessionId":"\#(session)","callId":"\#(call)","tool":"data_query_tool","arguments":{"objectType":"booking","filters":[{"field":"status","op":"eq","value":"confirmed"}],"limit":50},"category":"read"}"#, agent))
        pending.append(draft(org, stream, "tool.executed",
                             #"{"agentId":"primary","sessionId":"\#(session)","callId":"\#(call)","tool":"data_query_tool","arguments":{"objectType":"booking","filters":[{"field":"status","op":"eq","value":"confirmed"}],"limit":50},"result":{"total":\#(rng.next() % 40)},"durationMs":\#(rng.next() % 20)}"#, agent))
        pending.append(draft(org, stream, "llm.completed",
                             #"{"agentId":"primary","sessionId":"\#(session)","provider":"openrouter","model":"anthropic/claude-sonnet-4","generationId":"gen-\#(rng.next())","promptTokens":\#(p1 + 200),"completionTokens":\#(c1),"costUsd":0.00\#(rng.next() % 9000),"costSource":"reported","latencyMs":\#(rng.next() % 2000),"finishReason":"stop","iteration":1,"toolCallIds":[]}"#, agent))
        pending.append(draft(org, "spend:primary:2026-11-25", "cost.charged",
                             #"{"agentId":"primary","sessionId":"\#(session)","day":"2026-11-25","usd":0.00\#(rng.next() % 9000),"tokens":\#(rng.next() % 5000),"promptTokens":\#(p1),"completionTokens":\#(c1),"messages":1,"model":"anthropic/claude-sonnet-4","reservationId":"res_\#(rng.next())","reservedUsd":0.05}"#, .system))
        pending.append(draft(org, stream, "message.sent",
                             #"{"messageId":"\#(message)","agentId":"primary","sessionId":"\#(session)","channel":"whatsapp","to":"\#(customer)","text":"Danke für Ihre Nachricht! \#(text) Mast- und Schotbruch!"}"#, agent))
        pending.append(draft(org, stream, "message.delivered", #"{"messageId":"\#(message)","status":"delivered"}"#, .system))
    }
}
