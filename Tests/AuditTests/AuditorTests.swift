import Audit
import EventLog
import Foundation
import PurserDomain
import Testing

@Suite struct AuditorTests {
    @Test func cleanHistoryAuditsClean() async throws {
        let dir = TempDir()
        let log = try EventLog.open(directory: dir.logDirectory, logger: quietLogger)
        let h = History(log: log)
        try h.cleanBase()
        try h.open("s2")
        try h.cleanSupervisedTurn("s2", turn: 2)
        // A takeover: the operator replies as a human, then releases; the agent replies after.
        try h.handOff("s2")
        try h.sent("s2", messageId: "msg_op", actor: Actor(.human, "anna"))
        try h.release("s2")
        try h.cleanSupervisedTurn("s2", turn: 3)
        // Another org in the same log, with its own violations, must not leak into haff's audit.
        let other = History(log: log, org: "other", clock: h.clock)
        try other.sent("ghost", messageId: "m_x")
        log.close()

        let report = try await auditOnTheTestStore(dir)
        #expect(report.violations == [], "\(report.violations)")
        #expect(report.ok && report.log?.ok == true)
        let checked = Dictionary(uniqueKeysWithValues: report.checks.map { ($0.check, $0.checked) })
        #expect(checked[.toolPolicy] == 6)
        #expect(checked[.toolApproval] == 3)
        #expect(checked[.supervisedSend] == 3)
        #expect(checked[.llmCharged] == 3)
        #expect(checked[.objectScope] == 6) // courseId + contactId of three bookings
        #expect(report.events == h.n)
    }

    /// One seeded violation per case: (what to append after a clean base, expected rule).
    /// The closure returns the seq that must be named.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let rule: AuditCheck
        let config: @Sendable () -> OrgAgentConfig
        let seed: @Sendable (History) throws -> UInt64
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "disabled tool executed", rule: .toolPolicy, config: { History.config() }) { h in
            try h.executed("s1", tool: "bulk_crm_email_tool", args: #"{"subject":"Hi","body":"x","filters":[]}"#, call: "c9")
        },
        Case(name: "tool outside enabledTools executed", rule: .toolPolicy, config: { History.config() }) { h in
            try h.executed("s1", tool: "knowledge_tool", args: #"{"query":"Preis"}"#, call: "c9")
        },
        Case(name: "financial booking without approval", rule: .toolApproval, config: { History.config() }) { h in
            try h.executed("s1", tool: "booking_tool", args: #"{"action":"create","courseId":"course_sbf","contactId":"c_17","price":450}"#, call: "c9")
        },
        Case(name: "approval granted by the system, not a human", rule: .toolApproval, config: { History.config() }) { h in
            let args = #"{"action":"create","courseId":"course_sbf","contactId":"c_17","price":450}"#
            try h.requestApproval("s1", id: "apr_x", kind: "tool_call", tool: "booking_tool", args: args, call: "c9")
            try h.grant("apr_x", by: Actor(.system, "auto"))
            return try h.executed("s1", tool: "booking_tool", args: args, call: "c9", approval: "apr_x")
        },
        Case(name: "approval granted only after the tool ran", rule: .toolApproval, config: { History.config() }) { h in
            let args = #"{"action":"create","courseId":"course_sbf","contactId":"c_17","price":450}"#
            try h.requestApproval("s1", id: "apr_x", kind: "tool_call", tool: "booking_tool", args: args, call: "c9")
            let seq = try h.executed("s1", tool: "booking_tool", args: args, call: "c9", approval: "apr_x")
            try h.grant("apr_x")
            return seq
        },
        Case(name: "tool ran with other arguments than approved", rule: .toolApproval, config: { History.config() }) { h in
            let args = #"{"action":"create","courseId":"course_sbf","contactId":"c_17","price":450}"#
            try h.requestApproval("s1", id: "apr_x", kind: "tool_call", tool: "booking_tool", args: args, call: "c9")
            try h.grant("apr_x")
            return try h.executed("s1", tool: "booking_tool", args: #"{"action":"create","courseId":"course_sbf","contactId":"c_17","price":45}"#, call: "c9", approval: "apr_x")
        },
        Case(name: "supervised reply sent without approval", rule: .supervisedSend, config: { History.config() }) { h in
            try h.sent("s1", messageId: "m9")
        },
        Case(name: "reply sent under draft_only", rule: .draftOnlySend, config: { History.config() }) { h in
            try h.configure(History.config(autonomy: .draftOnly), revision: 2)
            return try h.sent("s1", messageId: "m9")
        },
        Case(name: "agent replied while handed off", rule: .handedOffSend, config: { History.config(autonomy: .autonomous) }) { h in
            try h.handOff("s1")
            return try h.sent("s1", messageId: "m9")
        },
        Case(name: "over maxMessagesPerDay", rule: .messagesCap, config: { History.config(maxMessages: 2) }) { h in
            try h.llm("s1", reservation: "r2")
            return try h.llm("s1", reservation: "r3") + 1 // the charge after it
        },
        Case(name: "engine notice sent after the day's cap tripped", rule: .capSend, config: { History.config(autonomy: .autonomous, maxMessages: 2) }) { h in
            try h.raw("session:s1", "guardrail.tripped", Actor(.system, "purser"),
                      #"{"agentId":"primary","sessionId":"s1","guardrail":"max_messages_per_day","detail":"2 of 2 messages used today","limit":2,"observed":2}"#)
            return try h.sent("s1", messageId: "m_notice", actor: Actor(.system, "purser"))
        },
        Case(name: "over maxCostPerDay", rule: .costCap, config: { History.config(maxCost: 0.05) }) { h in
            try h.llm("s1", reservation: "r2", usd: 0.03, messages: 0)
            return try h.llm("s1", reservation: "r3", usd: 0.03, messages: 0) + 1
        },
        Case(name: "event names a session never opened in this org", rule: .sessionScope, config: { History.config() }) { h in
            try h.raw("session:theirs", "guardrail.tripped", Actor(.system, "guardrail"),
                      #"{"agentId":"primary","sessionId":"theirs","guardrail":"blocked_topic","detail":"x"}"#)
        },
        Case(name: "tool call names another org's object", rule: .objectScope, config: { History.config() }) { h in
            // c_other exists, but in the other org (seeded by the test).
            return try h.executed("s1", tool: "crm_tool", args: #"{"action":"find","contactId":"c_other"}"#, call: "c9")
        },
        Case(name: "LLM call without its charge", rule: .llmCharged, config: { History.config() }) { h in
            try h.llm("s1", reservation: "r_lost", charge: false)
        },
    ]

    @Test(arguments: cases)
    func eachViolationIsDetectedWithItsRuleAndSeq(_ c: Case) async throws {
        let dir = TempDir()
        let log = try EventLog.open(directory: dir.logDirectory, logger: quietLogger)
        let h = History(log: log)
        try h.cleanBase(c.config())
        let other = History(log: log, org: "other", clock: h.clock)
        try other.object("c_other")
        let seq = try c.seed(h)
        log.close()
        let report = try await auditOnTheTestStore(dir)
        #expect(report.violations.map(\.rule) == [c.rule], "\(report.violations)")
        #expect(report.violations.first?.seq == positionOnTheTestStore(dir, seq))
        #expect(!report.ok)
        #expect(report.checks.first { $0.check == c.rule }?.violations == 1)
    }

    @Test func whatIfListsWhatAStricterConfigWouldHaveDeniedOrHeld() async throws {
        let dir = TempDir()
        let log = try EventLog.open(directory: dir.logDirectory, logger: quietLogger)
        let h = History(log: log)
        try h.configure(History.config(autonomy: .autonomous, approvalFor: []))
        try h.object("c_17")
        try h.object("course_sbf", type: "product")
        try h.open("s1")
        try h.received("s1")
        let query = try h.executed("s1", tool: "data_query_tool", args: #"{"objectType":"booking"}"#, call: "c1")
        let booking = try h.executed("s1", tool: "booking_tool", args: #"{"action":"create","courseId":"course_sbf","contactId":"c_17","price":450}"#, call: "c2")
        let update = try h.executed("s1", tool: "crm_tool", args: #"{"action":"update","contactId":"c_17","fields":{"name":"Max"}}"#, call: "c3")
        try h.llm("s1", reservation: "r1", usd: 0.02)
        let send = try h.sent("s1", messageId: "m1")
        log.close()
        #expect(try await auditOnTheTestStore(dir).ok) // autonomous: all of it was allowed

        // Proposed: supervised, crm_tool disabled, approval for financial.
        let proposed = History.config(autonomy: .supervised, disabled: ["crm_tool"], approvalFor: [.financial])
        let report = try await auditOnTheTestStore(dir, proposed: proposed)
        let findings = report.whatIf ?? []
        #expect(findings.map(\.seq) == [booking, update, send])
        #expect(findings.map(\.decision) == [.needsApproval, .deny, .needsApproval])
        #expect(findings.map(\.rule) == ["require_approval_for", "disabled_tools", "autonomy.supervised"])
        #expect(!findings.contains { $0.seq == query })
        #expect(report.ok) // the what-if lists; the history itself stays clean

        let drafts = try await auditOnTheTestStore(dir, proposed: History.config(autonomy: .draftOnly, maxCost: 0.01)).whatIf ?? []
        #expect(drafts.first { $0.seq == send }?.decision == .deny)
        #expect(drafts.contains { $0.action == .llmCall && $0.rule == AuditCheck.costCap.rawValue })
    }
}
