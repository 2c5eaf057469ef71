import Audit
import EventLog
import Foundation
import Logging
import PurserCore
import PurserDomain

/// `purser-bench audit`: one org's 100k events inside a 1M-event log (the rest spread over 1,000
/// other orgs), audited through the org index; beside it, the full-log replay rate measured in the
/// same run. The audited org's history is the pipeline's clean supervised turn, over and over, so
/// every check runs on every event (policy re-run per tool call, approvals, caps, charges).
func runAuditBench(events total: Int, orgEvents: Int, work: String) throws {
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let logDir = work + "/eventlog"
    let log = try EventLog.open(directory: logDir, logger: quiet)
    var others = Workload(seed: 5, orgs: 1000)
    var org = AuditedOrg()
    let every = max(1, total / max(1, orgEvents))
    var written = 0, ownWritten = 0
    while written < total {
        let n = min(4096, total - written)
        var batch: [EventDraft] = []
        batch.reserveCapacity(n)
        for i in 0..<n {
            if (written + i) % every == 0 && ownWritten < orgEvents {
                batch.append(org.next())
                ownWritten += 1
            } else {
                batch.append(others.next())
            }
        }
        _ = try log.appendSync(batch)
        written += n
    }
    log.close()

    FileHandle.standardOutput.write(Data("| figure | purser | baseline | baseline figure | ratio |\n|---|---|---|---|---|\n".utf8))
    _ = try fullReplay(logDir) // warm the page cache
    let replay = try fullReplay(logDir)
    let replayRate = Double(replay.events) / replay.seconds

    let auditor = try Auditor(reader: LogReader(directory: logDir), logger: quiet)
    _ = try auditor.audit(org: AuditedOrg.name, verifyLog: false) // warm
    let t0 = now()
    let report = try auditor.audit(org: AuditedOrg.name, verifyLog: false)
    let secs = now() - t0
    guard report.ok, report.events == ownWritten else {
        FileHandle.standardError.write(Data("audit bench: expected a clean audit of \(ownWritten) events, got \(report.events) events and \(report.violations.count) violations, first: \(report.violations.first.map { "\($0)" } ?? "-")\n".utf8))
        exit(1)
    }
    let rate = Double(report.events) / secs
    row("audit of one org (\(report.events) events) in a \(replay.events)-event log, policy checks only (events/s)", formatRate(rate),
        "full-log replay (scan only, all orgs)", formatRate(replayRate),
        String(format: "%.2f× replay's rate; %.0f ms vs %.0f ms", rate / replayRate, secs * 1000, replay.seconds * 1000))

    // What the audit's time is made of: reading the org through its index versus decoding.
    let reader = LogReader(directory: logDir)
    let t2 = now()
    var read = 0
    try reader.scan(.init(org: AuditedOrg.name)) { _ in
        read += 1
        return true
    }
    let readSecs = now() - t2
    row("read of that org's \(read) events through the org index, no payload decoding (ms)", String(format: "%.0f ms", readSecs * 1000),
        "the audit of the same events", String(format: "%.0f ms", secs * 1000), String(format: "%.0f%% of the audit is reading", readSecs / secs * 100))

    let t1 = now()
    let full = try auditor.audit(org: AuditedOrg.name, verifyLog: true)
    let fullSecs = now() - t1
    row("purser audit of that org incl. verify of the whole log (s)", String(format: "%.2f s%@", fullSecs, full.ok ? "" : " (NOT ok)"),
        "full-log replay", String(format: "%.2f s", replay.seconds), String(format: "%.1f× replay's time", fullSecs / replay.seconds))
    try? FileManager.default.removeItem(atPath: work)
}

/// The audited org's traffic: a supervised turn of nine events (message, read tool call, LLM
/// call and its charge, drafted reply, approval requested and granted by a human, send), in a
/// new session every turn, after one `agent.configured` and the contact object.
struct AuditedOrg {
    static let name = "org-audited"
    var counter = 0
    var turn = 0
    let baseMs: Int64 = 1_795_600_000_000

    mutating func next() -> EventDraft {
        defer { counter += 1 }
        let ms = baseMs + Int64(counter) * 10
        if counter == 0 {
            var p = AgentProperties()
            p.enabledTools = ["data_query_tool", "crm_tool", "booking_tool"]
            p.maxMessagesPerDay = 1_000_000
            p.maxCostPerDay = 1_000_000
            let config = OrgAgentConfig(organizationId: Self.name, name: "Assistant", customProperties: p)
            let data = try! EventCatalog.standard.encode(AgentConfigured(agentId: "primary", revision: 1, config: config)).data
            return EventDraft(org: Self.name, stream: "agent:primary", type: "agent.configured", data: Array(data), actor: Actor(.human, "anna"), timestampMs: ms)
        }
        if counter == 1 {
            return draft("object:c_17", "object.created", .system, #"{"object":{"id":"c_17","type":"crm_contact","name":"Max","customProperties":{}}}"#, ms)
        }
        let step = (counter - 2) % 10
        if step == 0 { turn += 1 }
        let s = "ses_\(turn)", a = "apr_\(turn)", m = "msg_\(turn)", r = "res_\(turn)"
        let day = Timestamp(millisecondsSinceEpoch: ms).utcDay
        switch step {
        case 0: return draft("session:\(s)", "session.opened", .system, #"{"sessionId":"\#(s)","agentId":"primary","channel":"whatsapp","externalContactId":"+491701234567","internalSession":false}"#, ms)
        case 1: return draft("session:\(s)", "message.received", .customer, #"{"channel":"whatsapp","from":"+491701234567","to":"+4939771234567","text":"Welche Buchungen habe ich nächste Woche?","receivedAt":"2026-11-25T10:00:00Z","references":[],"attachments":[],"agentId":"primary","sessionId":"\#(s)"}"#, ms, v: 2)
        case 2: return draft("session:\(s)", "tool.executed", .agent, #"{"agentId":"primary","sessionId":"\#(s)","callId":"q\#(turn)","tool":"data_query_tool","arguments":{"objectType":"booking","filters":[{"field":"customProperties.contactId","op":"eq","value":"c_17"}]},"result":{"objectType":"booking","total":3,"limit":50,"offset":0,"items":[]},"durationMs":2}"#, ms)
        case 3: return draft("session:\(s)", "llm.completed", .agent, #"{"agentId":"primary","sessionId":"\#(s)","provider":"openrouter","model":"anthropic/claude-sonnet-4","promptTokens":1400,"completionTokens":90,"costUsd":0.0056,"costSource":"reported","latencyMs":900,"iteration":1,"toolCallIds":[],"reservationId":"\#(r)"}"#, ms)
        case 4: return draft("spend:primary:\(day)", "cost.charged", .agent, #"{"agentId":"primary","sessionId":"\#(s)","day":"\#(day)","usd":0.0056,"tokens":1490,"promptTokens":1400,"completionTokens":90,"messages":1,"model":"anthropic/claude-sonnet-4","reservationId":"\#(r)","reservedUsd":0.07}"#, ms)
        case 5: return draft("session:\(s)", "message.drafted", .agent, #"{"messageId":"\#(m)","agentId":"primary","sessionId":"\#(s)","channel":"whatsapp","to":"+491701234567","text":"Du hast 3 Buchungen nächste Woche.","approvalId":"\#(a)"}"#, ms)
        case 6: return draft("session:\(s)", "approval.requested", .agent, #"{"approvalId":"\#(a)","agentId":"primary","sessionId":"\#(s)","kind":"reply","messageId":"\#(m)","replyText":"Du hast 3 Buchungen nächste Woche.","rule":"autonomy.supervised","summary":"reply","expiresAt":"2026-11-26T10:00:00Z"}"#, ms)
        case 7: return draft("approval:\(a)", "approval.granted", .human, #"{"approvalId":"\#(a)","decidedBy":"anna","diff":[]}"#, ms, actorId: "anna")
        case 8: return draft("session:\(s)", "message.sent", .agent, #"{"messageId":"\#(m)","agentId":"primary","sessionId":"\#(s)","channel":"whatsapp","to":"+491701234567","text":"Du hast 3 Buchungen nächste Woche.","approvalId":"\#(a)"}"#, ms)
        default: return draft("session:\(s)", "message.delivered", .system, #"{"messageId":"\#(m)","status":"delivered"}"#, ms)
        }
    }

    func draft(_ stream: String, _ type: String, _ kind: Actor.Kind, _ data: String, _ ms: Int64, v: Int = 1, actorId: String? = nil) -> EventDraft {
        let id = actorId ?? (kind == .customer ? "+491701234567" : kind == .agent ? "primary" : "pipeline")
        return EventDraft(org: Self.name, stream: stream, type: type, version: v, data: Array(data.utf8), actor: Actor(kind, id), timestampMs: ms)
    }
}
