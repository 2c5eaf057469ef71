import Audit
import EventLog
import EventStore
import PostgresStore
import PostgresTestSupport
import Foundation
@_exported import PurserTestSupport
import Logging
import PurserDomain

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Builds an org's history the way the pipeline writes it (the conventions of eventlog/EVENTS.md), event by
/// event through the test-only raw append path (`EventLog.appendSync`), so tests can seed
/// exactly the violation they mean. Each method returns the event's seq.
final class History {
    let log: EventLog
    let org: String
    var clock: Int64
    var n = 0

    /// 2026-11-25T10:00:00Z.
    static let start: Int64 = 1_795_608_000_000

    init(log: EventLog, org: String = "haff", clock: Int64 = History.start) {
        self.log = log
        self.org = org
        self.clock = clock
    }

    @discardableResult
    func raw(_ stream: String, _ type: String, _ actor: Actor, _ data: String, version: Int = 1, org: String? = nil) throws -> UInt64 {
        clock += 60_000
        n += 1
        let draft = EventDraft(org: org ?? self.org, stream: stream, type: type, version: version, data: Array(data.utf8), actor: actor, timestampMs: clock)
        return try log.appendSync([draft]).seqs[0]
    }

    static func config(autonomy: AutonomyLevel = .supervised, enabled: [String] = ["data_query_tool", "crm_tool", "booking_tool"],
                       disabled: [String] = ["bulk_crm_email_tool"], approvalFor: [ActionCategory] = [.bulkEmail, .deleteContact, .financial],
                       maxMessages: Int = 100, maxCost: Double = 5.0, org: String = "haff") -> OrgAgentConfig {
        var p = AgentProperties()
        p.displayName = "Haff Assistant"
        p.enabledTools = enabled
        p.disabledTools = disabled
        p.autonomyLevel = autonomy
        p.requireApprovalFor = approvalFor
        p.maxMessagesPerDay = maxMessages
        p.maxCostPerDay = maxCost
        return OrgAgentConfig(organizationId: OrgID(org), name: "Sailing School Assistant", customProperties: p)
    }

    @discardableResult
    func configure(_ config: OrgAgentConfig, revision: Int = 1) throws -> UInt64 {
        let encoded = try EventCatalog.standard.encode(AgentConfigured(agentId: config.agentId, revision: revision, config: config))
        return try raw("agent:\(config.agentId)", "agent.configured", Actor(.human, "anna"), String(decoding: encoded.data, as: UTF8.self))
    }

    @discardableResult
    func object(_ id: String, type: String = "crm_contact") throws -> UInt64 {
        try raw("object:\(id)", "object.created", Actor(.system, "import"), #"{"object":{"id":"\#(id)","type":"\#(type)","name":"\#(id)","customProperties":{}}}"#)
    }

    @discardableResult
    func open(_ s: String) throws -> UInt64 {
        try raw("session:\(s)", "session.opened", Actor(.system, "ingest"),
                #"{"sessionId":"\#(s)","agentId":"primary","channel":"whatsapp","externalContactId":"+491701234567","crmContactId":"c_17","internalSession":false}"#)
    }

    @discardableResult
    func received(_ s: String, _ text: String = "Wann ist der nächste SBF-Kurs?") throws -> UInt64 {
        try raw("session:\(s)", "message.received", Actor(.customer, "+491701234567"),
                #"{"channel":"whatsapp","from":"+491701234567","to":"+4939771234567","text":"\#(text)","receivedAt":"2026-11-25T10:00:00Z","references":[],"attachments":[],"agentId":"primary","sessionId":"\#(s)"}"#, version: 2)
    }

    /// An LLM call and its charge (one message for the first call of a turn).
    @discardableResult
    func llm(_ s: String, reservation: String, usd: Double = 0.001, messages: Int = 1, charge: Bool = true) throws -> UInt64 {
        let seq = try raw("session:\(s)", "llm.completed", Actor(.agent, "primary"),
                          #"{"agentId":"primary","sessionId":"\#(s)","provider":"offline","model":"offline","promptTokens":400,"completionTokens":40,"costUsd":\#(usd),"costSource":"free","latencyMs":3,"iteration":1,"toolCallIds":[],"reservationId":"\#(reservation)"}"#)
        if charge { try self.charge(s, reservation: reservation, usd: usd, messages: messages) }
        return seq
    }

    @discardableResult
    func charge(_ s: String, reservation: String, usd: Double, messages: Int, day: String = "2026-11-25") throws -> UInt64 {
        try raw("spend:primary:\(day)", "cost.charged", Actor(.agent, "primary"),
                #"{"agentId":"primary","sessionId":"\#(s)","day":"\#(day)","usd":\#(usd),"tokens":440,"promptTokens":400,"completionTokens":40,"messages":\#(messages),"model":"offline","reservationId":"\#(reservation)","reservedUsd":0.01}"#)
    }

    @discardableResult
    func executed(_ s: String, tool: String, args: String, call: String, approval: String? = nil, actor: Actor = Actor(.agent, "primary"),
                  result: String = #"{"ok":true}"#) throws -> UInt64 {
        try raw("session:\(s)", "tool.executed", actor,
                #"{"agentId":"primary","sessionId":"\#(s)","callId":"\#(call)","tool":"\#(tool)","arguments":\#(args),"result":\#(result),"durationMs":2\#(approval.map { #","approvalId":"\#($0)""# } ?? "")}"#)
    }

    @discardableResult
    func requestApproval(_ s: String, id: String, kind: String, tool: String? = nil, args: String? = nil, call: String? = nil, messageId: String? = nil) throws -> UInt64 {
        var fields = #""approvalId":"\#(id)","agentId":"primary","sessionId":"\#(s)","kind":"\#(kind)","rule":"autonomy.supervised","summary":"needs a human","expiresAt":"2026-11-26T10:00:00Z""#
        if let tool { fields += #","tool":"\#(tool)""# }
        if let args { fields += #","arguments":\#(args)"# }
        if let call { fields += #","callId":"\#(call)""# }
        if let messageId { fields += #","messageId":"\#(messageId)","replyText":"Hallo""# }
        return try raw("session:\(s)", "approval.requested", Actor(.agent, "primary"), "{\(fields)}")
    }

    @discardableResult
    func grant(_ id: String, by actor: Actor = Actor(.human, "anna"), editedArguments: String? = nil) throws -> UInt64 {
        try raw("approval:\(id)", "approval.granted", actor,
                #"{"approvalId":"\#(id)","decidedBy":"\#(actor.id)","diff":[]\#(editedArguments.map { #","editedArguments":\#($0)"# } ?? "")}"#)
    }

    @discardableResult
    func drafted(_ s: String, messageId: String, approval: String? = nil) throws -> UInt64 {
        try raw("session:\(s)", "message.drafted", Actor(.agent, "primary"),
                #"{"messageId":"\#(messageId)","agentId":"primary","sessionId":"\#(s)","channel":"whatsapp","to":"+491701234567","text":"Samstag um 9 Uhr."\#(approval.map { #","approvalId":"\#($0)""# } ?? "")}"#)
    }

    @discardableResult
    func sent(_ s: String, messageId: String, approval: String? = nil, actor: Actor = Actor(.agent, "primary")) throws -> UInt64 {
        try raw("session:\(s)", "message.sent", actor,
                #"{"messageId":"\#(messageId)","agentId":"primary","sessionId":"\#(s)","channel":"whatsapp","to":"+491701234567","text":"Samstag um 9 Uhr."\#(approval.map { #","approvalId":"\#($0)""# } ?? "")}"#)
    }

    @discardableResult
    func handOff(_ s: String) throws -> UInt64 {
        try raw("session:\(s)", "session.handed_off", Actor(.human, "anna"), #"{"sessionId":"\#(s)","trigger":"takeover","reason":"Anna übernimmt","handedOffTo":"anna"}"#)
    }

    @discardableResult
    func release(_ s: String) throws -> UInt64 {
        try raw("session:\(s)", "session.released", Actor(.human, "anna"), #"{"sessionId":"\#(s)","releasedBy":"anna"}"#)
    }

    /// A clean supervised conversation: question, a read tool call, an LLM call with its
    /// charge, a reply drafted, approved by a human and sent; then a financial booking held for
    /// approval, approved and run.
    func cleanSupervisedTurn(_ s: String, turn: Int = 1) throws {
        try received(s)
        try executed(s, tool: "data_query_tool", args: #"{"objectType":"booking","filters":[{"field":"status","op":"eq","value":"confirmed"}]}"#,
                     call: "call_q\(turn)", result: #"{"objectType":"booking","total":3,"limit":50,"offset":0,"items":[]}"#)
        try llm(s, reservation: "res_\(s)_\(turn)")
        try drafted(s, messageId: "msg_\(s)_\(turn)", approval: "apr_r_\(s)_\(turn)")
        try requestApproval(s, id: "apr_r_\(s)_\(turn)", kind: "reply", messageId: "msg_\(s)_\(turn)")
        try grant("apr_r_\(s)_\(turn)")
        try sent(s, messageId: "msg_\(s)_\(turn)", approval: "apr_r_\(s)_\(turn)")
        let args = #"{"action":"create","courseId":"course_sbf","contactId":"c_17","price":450}"#
        try requestApproval(s, id: "apr_t_\(s)_\(turn)", kind: "tool_call", tool: "booking_tool", args: args, call: "call_b\(turn)")
        try grant("apr_t_\(s)_\(turn)")
        try executed(s, tool: "booking_tool", args: args, call: "call_b\(turn)", approval: "apr_t_\(s)_\(turn)")
    }

    /// Config, objects and one clean session.
    func cleanBase(_ config: OrgAgentConfig = History.config()) throws {
        try configure(config)
        try object("c_17")
        try object("course_sbf", type: "product")
        try open("s1")
        try cleanSupervisedTurn("s1")
    }
}

func audit(_ dir: TempDir, org: String = "haff", proposed: OrgAgentConfig? = nil) throws -> AuditReport {
    try Auditor(reader: LogReader(directory: dir.logDirectory), logger: quietLogger).audit(org: org, proposed: proposed)
}

/// The store the audit suite checks its histories on: the embedded log as written, or with
/// `PURSER_TEST_STORE=postgres` the same history copied into a fresh PostgreSQL database and
/// audited there through the storage seam (CI runs the suite both ways).
enum TestStore {
    static let postgres = ProcessInfo.processInfo.environment["PURSER_TEST_STORE"] == "postgres"
}

/// `audit(dir)` on the test store.
func auditOnTheTestStore(_ dir: TempDir, org: String = "haff", proposed: OrgAgentConfig? = nil) async throws -> AuditReport {
    guard TestStore.postgres else { return try audit(dir, org: org, proposed: proposed) }
    return try await TestDatabase.with { url in
        try await TestDatabase.withStore(url) { store in
            _ = try await EventCopier(from: EmbeddedEventStore(reader: LogReader(directory: dir.logDirectory)), to: store).run()
            return try await Auditor(store: store, logger: quietLogger).audit(of: org, proposed: proposed)
        }
    }
}

/// Where the event at embedded `seq` stands on the test store: the seq itself, or on PostgreSQL
/// its position within its org (the other orgs' events of the log do not count there).
func positionOnTheTestStore(_ dir: TempDir, _ seq: UInt64?, org: String = "haff") -> UInt64? {
    guard TestStore.postgres, let seq else { return seq }
    var position: UInt64 = 0
    try? LogReader(directory: dir.logDirectory).scan(.init()) { record in
        guard record.seq <= seq else { return false }
        if record.org == org { position += 1 }
        return true
    }
    return position
}
