import EventLog

/// Events shaped like Purser's pipeline traffic (~500 bytes each): inbound messages, LLM calls,
/// tool executions, charges and replies, spread over many orgs and sessions.
struct Workload {
    var rng: Xorshift
    let orgs: Int
    var counter = 0
    let baseMs: Int64 = 1_795_600_000_000

    init(seed: UInt64, orgs: Int) {
        rng = Xorshift(seed: seed)
        self.orgs = orgs
    }

    static let texts = [
        "Wann ist der nächste SBF-Binnen-Kurs? Ich würde gern mit meiner Freundin zusammen teilnehmen.",
        "Was kostet der Segelschein für Jugendliche, und gibt es einen Rabatt für Vereinsmitglieder?",
        "Hi, can I book a sailing lesson for next Saturday morning? We are two adults and one child.",
        "Können wir den Termin am Donnerstag auf Freitag verschieben? Es tut mir leid für die Umstände.",
        "Do you rent out boats without a skipper if I hold an international certificate of competence?",
    ]
    static let types = ["message.received", "contact.resolved", "llm.completed", "tool.executed", "cost.charged", "message.sent"]

    mutating func org() -> String {
        let n = Int(rng.next() % UInt64(orgs))
        return "org-" + String(repeating: "0", count: max(0, 4 - String(n).count)) + String(n)
    }

    mutating func next() -> EventDraft {
        counter += 1
        let o = org()
        let session = "ses_" + String(rng.next() % 100_000, radix: 36)
        let type = Workload.types[counter % Workload.types.count]
        let text = Workload.texts[Int(rng.next() % UInt64(Workload.texts.count))]
        let data: String
        switch type {
        case "message.received":
            data = #"{"channel":"whatsapp","to":"+4939771234567","from":"+49170\#(1_000_000 + rng.next() % 9_000_000)","text":"\#(text)","externalMessageId":"wamid.HBgL\#(rng.next())","receivedAt":"2026-11-25T10:00:00Z","contactName":"Max Mustermann"}"#
        case "llm.completed":
            data = #"{"sessionId":"\#(session)","agentId":"primary","model":"anthropic/claude-sonnet-4","generationId":"gen-\#(rng.next())","promptTokens":\#(1000 + rng.next() % 3000),"completionTokens":\#(rng.next() % 400),"costUsd":0.00\#(rng.next() % 9000),"latencyMs":\#(rng.next() % 2000),"finishReason":"stop"}"#
        case "tool.executed":
            data = #"{"sessionId":"\#(session)","callId":"call_\#(rng.next())","tool":"data_query_tool","category":"read","durationMs":\#(rng.next() % 20),"arguments":{"objectType":"booking","filters":[{"field":"status","op":"eq","value":"confirmed"}],"limit":50},"result":{"total":\#(rng.next() % 40)}}"#
        case "cost.charged":
            data = #"{"agentId":"primary","sessionId":"\#(session)","day":"2026-11-25","usd":0.00\#(rng.next() % 9000),"tokens":\#(rng.next() % 5000),"reservationId":"res_\#(rng.next())","model":"anthropic/claude-sonnet-4"}"#
        case "contact.resolved":
            data = #"{"sessionId":"\#(session)","contactId":"c_\#(rng.next() % 100_000)","created":false,"phone":"+49170\#(1_000_000 + rng.next() % 9_000_000)","email":"kunde\#(rng.next() % 10000)@example.de"}"#
        default:
            data = #"{"sessionId":"\#(session)","messageId":"msg_\#(rng.next())","channel":"whatsapp","to":"+49170\#(1_000_000 + rng.next() % 9_000_000)","text":"Danke für Ihre Nachricht! \#(text) Mast- und Schotbruch!"}"#
        }
        let actor: Actor = type == "message.received" ? Actor(.customer, "+49170\(rng.next() % 10_000_000)") : Actor(.agent, "primary")
        return EventDraft(org: o, stream: "session:" + session, type: type, data: Array(data.utf8), actor: actor,
                          timestampMs: baseMs + Int64(counter) * 10, correlationId: "01JD2ZP3W8\(rng.next() % 1_000_000)")
    }
}

struct Xorshift {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
