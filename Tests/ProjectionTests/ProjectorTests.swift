import AgentsProjection
import AuditProjection
import CRMProjection
import EventLog
import Foundation
import GRDB
import OutboxProjection
import Projection
import PurserCore
import PurserDomain
import SessionsProjection
import SpendProjection
import Testing

/// Each projector against a short event sequence, with the rows it must produce.
@Suite struct ProjectorTests {
    static func config(org: String, agent: String = "primary", address: String = "+4939771234567", status: AgentStatus = .active) -> OrgAgentConfig {
        OrgAgentConfig(subtype: agent, organizationId: org, name: "Assistant of \(org)", status: status,
                       customProperties: AgentProperties(displayName: "A", language: "de", enabledTools: ["data_query_tool"],
                                                         channelBindings: [ChannelBinding(channel: .whatsapp, enabled: true, address: address)]))
    }

    @Test func agentsKeepsConfigHistoryStatusAndRoutes() throws {
        let data = TestData()
        try data.append("haff", "agent:primary", AgentConfigured(agentId: "primary", revision: 1, config: Self.config(org: "haff")))
        var second = Self.config(org: "haff", address: "+4939779999999")
        second.name = "Renamed"
        try data.append("haff", "agent:primary", AgentConfigured(agentId: "primary", revision: 2, config: second), actor: Actor(.human, "owner"))
        try data.append("haff", "agent:primary", AgentStatusChanged(agentId: "primary", from: .active, to: .paused, reason: "holiday"))
        try data.append("kiel", "agent:primary", AgentConfigured(agentId: "primary", revision: 1, config: Self.config(org: "kiel", address: "+4943112345")))
        let store = data.store(AgentsProjector())
        let report = try store.catchUp()
        #expect(report.eventsApplied == 4 && report.checkpoint == 4)

        let haff = try #require(try store.read { try AgentsQueries.agent($0, org: "haff", agentId: "primary") })
        #expect(haff.revision == 2 && haff.name == "Renamed" && haff.status == .paused)
        #expect(haff.config.customProperties.channelBindings.first?.address == "+4939779999999")
        let history = try store.read { try AgentsQueries.history($0, org: "haff", agentId: "primary") }
        #expect(history.map(\.revision) == [1, 2])
        #expect(history[1].actor == "human:owner")
        let table = try store.read { try AgentsQueries.routingTable($0) }
        #expect(table.count == 2)
        #expect(table[ChannelAddress(channel: .whatsapp, address: "+4939779999999")] == AgentRef(org: "haff", agentId: "primary"))
        #expect(table[ChannelAddress(channel: .whatsapp, address: "+4939771234567")] == nil, "the old binding was replaced")
        #expect(try store.read { try AgentsQueries.agents($0, org: "kiel") }.count == 1)
        let statusRows = try rows(store, "SELECT from_status, to_status, reason FROM agent_status_history WHERE org = 'haff'")
        #expect(statusRows.count == 1 && statusRows[0][1] == "paused" && statusRows[0][2] == "holiday")
    }

    @Test func crmObjectsLinksIdentitiesAndDeletion() throws {
        let data = TestData()
        let lisa = OntologyObject(id: "c_17", type: "crm_contact", subtype: "customer", name: "Lisa K.", status: "active",
                                  customProperties: ["email": "Lisa@Example.DE", "phone": "+49 160 9876543"],
                                  createdAt: Timestamp(iso8601: "2025-03-01T09:00:00Z"))
        try data.append("haff", "object:c_17", ObjectCreated(object: lisa))
        try data.append("haff", "object:b_90", ObjectCreated(object: OntologyObject(id: "b_90", type: "booking", name: "SBF")))
        try data.append("haff", "links:c_17", LinkCreated(link: ObjectLink(from: "c_17", to: "b_90", linkType: "bookings")))
        var moved = lisa
        moved.customProperties = ["email": "lisa@new.de", "phone": "0049 160 9876543"]
        try data.append("haff", "object:c_17", ObjectUpdated(object: moved, changedFields: ["customProperties.email"]))
        let store = data.store(CRMProjector())
        try store.catchUp()

        let objects = try store.read { try CRMQueries.objects($0, org: "haff") }
        #expect(objects.map(\.object.id) == ["b_90", "c_17"])
        let c17 = try #require(objects.last)
        #expect(c17.object.customProperties["email"]?.stringValue == "lisa@new.de")
        #expect(c17.object.createdAt == Timestamp(iso8601: "2025-03-01T09:00:00Z"))
        #expect(try store.read { try CRMQueries.objectIDs($0, org: "haff", email: "LISA@new.de") } == ["c_17"])
        #expect(try store.read { try CRMQueries.objectIDs($0, org: "haff", email: "lisa@example.de") } == [], "the old email no longer resolves")
        #expect(try store.read { try CRMQueries.objectIDs($0, org: "haff", phone: "+491609876543") } == ["c_17"])
        #expect(try store.read { try CRMQueries.links($0, org: "haff", from: "c_17") } == [ObjectLink(from: "c_17", to: "b_90", linkType: "bookings")])
        #expect(try store.read { try CRMQueries.objects($0, org: "haff", type: "booking") }.count == 1)

        try data.append("haff", "object:b_90", ObjectDeleted(id: "b_90", objectType: "booking"))
        try store.catchUp()
        #expect(try store.read { try CRMQueries.objects($0, org: "haff") }.map(\.object.id) == ["c_17"])
        #expect(try store.read { try CRMQueries.object($0, org: "haff", id: "b_90") }?.deleted == true)
        #expect(try store.read { try CRMQueries.links($0, org: "haff", from: "c_17") }.isEmpty, "links go with the object")
    }

    @Test func twoOrgsWithTheSameObjectIDsStaySeparate() throws {
        let data = TestData()
        for org in ["haff", "kiel"] {
            try data.append(org, "object:c_1", ObjectCreated(object: OntologyObject(
                id: "c_1", type: "crm_contact", name: "Contact of \(org)", customProperties: ["email": .string("info@\(org).de")])))
            try data.append(org, "links:c_1", LinkCreated(link: ObjectLink(from: "c_1", to: "b_1", linkType: "bookings")))
        }
        try data.append("kiel", "object:c_1", ObjectDeleted(id: "c_1", objectType: "crm_contact"))
        let store = data.store(CRMProjector())
        try store.catchUp()
        let haff = try store.read { try CRMQueries.objects($0, org: "haff") }
        #expect(haff.count == 1 && haff[0].object.name == "Contact of haff")
        #expect(try store.read { try CRMQueries.objects($0, org: "kiel") }.isEmpty)
        #expect(try store.read { try CRMQueries.objectIDs($0, org: "kiel", email: "info@haff.de") }.isEmpty)
        #expect(try store.read { try CRMQueries.objectIDs($0, org: "haff", email: "info@haff.de") } == ["c_1"])
        #expect(try store.read { try CRMQueries.links($0, org: "haff", from: "c_1") }.count == 1, "deleting kiel's c_1 left haff's links alone")
    }

    @Test func sessionsStateAndTranscript() throws {
        let data = TestData()
        let customer = Actor(.customer, "+491701234567")
        try data.append("haff", "session:s1", MessageReceived(channel: .whatsapp, from: "+491701234567", to: "+4939771234567",
                                                              text: "Wann ist der nächste Kurs?", receivedAt: Timestamp(millisecondsSinceEpoch: 0),
                                                              agentId: "primary", sessionId: "s1"), actor: customer)
        try data.append("haff", "session:s1", ContactResolved(channel: .whatsapp, externalContactId: "+491701234567", crmContactId: "c_17",
                                                              matchedBy: .phone, sessionId: "s1"))
        try data.append("haff", "session:s1", SessionOpened(sessionId: "s1", agentId: "primary", channel: .whatsapp,
                                                            externalContactId: "+491701234567", crmContactId: "c_17"))
        try data.append("haff", "session:s1", LLMCompleted(agentId: "primary", sessionId: "s1", provider: "offline", model: "offline",
                                                           promptTokens: 400, completionTokens: 50, costUsd: 0.25, costSource: .free, latencyMs: 3))
        try data.append("haff", "session:s1", MessageSent(messageId: "m1", agentId: "primary", sessionId: "s1", channel: .whatsapp,
                                                          to: "+491701234567", text: "Am Samstag."), actor: Actor(.agent, "primary"))
        try data.append("haff", "session:s1", SessionHandedOff(sessionId: "s1", trigger: .takeover, reason: "operator took over", handedOffTo: "anna"))
        let store = data.store(SessionsProjector())
        try store.catchUp()
        var s1 = try #require(try store.read { try SessionsQueries.session($0, org: "haff", id: "s1") })
        #expect(s1.status == "handed_off" && s1.handedOffTo == "anna")
        #expect(s1.agentId == "primary" && s1.channel == "whatsapp" && s1.externalContact == "+491701234567" && s1.crmContact == "c_17")
        #expect(s1.messageCount == 2 && s1.tokensUsed == 450 && abs(s1.costUsd - 0.25) < 1e-9)
        let transcript = try store.read { try SessionsQueries.transcript($0, org: "haff", session: "s1") }
        #expect(transcript.map(\.direction) == ["inbound", "outbound"])
        #expect(transcript.map(\.text) == ["Wann ist der nächste Kurs?", "Am Samstag."])
        #expect(transcript[1].actorKind == "agent")
        #expect(try store.read { try SessionsQueries.transcript($0, org: "haff", session: "s1", last: 1) }.map(\.text) == ["Am Samstag."])

        try data.append("haff", "session:s1", SessionReleased(sessionId: "s1", releasedBy: "anna"))
        try store.catchUp()
        s1 = try #require(try store.read { try SessionsQueries.session($0, org: "haff", id: "s1") })
        #expect(s1.status == "active" && s1.handedOffTo == nil)
        try data.append("haff", "session:s1", SessionClosed(sessionId: "s1", reason: "done"))
        try store.catchUp()
        #expect(try store.read { try SessionsQueries.sessions($0, org: "haff", status: "closed") }.count == 1)
        #expect(try store.read { try SessionsQueries.sessions($0, org: "kiel") }.isEmpty)
    }

    @Test func spendSumsPerOrgAgentAndDay() throws {
        let data = TestData()
        func charge(_ agent: String, _ day: String, usd: Double, tokens: Int, messages: Int) -> CostCharged {
            CostCharged(agentId: agent, day: day, usd: usd, tokens: tokens, promptTokens: tokens, completionTokens: 0, messages: messages,
                        model: "m", reservationId: UUID().uuidString, reservedUsd: usd)
        }
        try data.append("haff", "spend:primary:2026-11-25", charge("primary", "2026-11-25", usd: 0.5, tokens: 100, messages: 1))
        try data.append("haff", "spend:primary:2026-11-25", charge("primary", "2026-11-25", usd: 0.25, tokens: 50, messages: 0))
        try data.append("haff", "spend:primary:2026-11-26", charge("primary", "2026-11-26", usd: 1, tokens: 10, messages: 1))
        try data.append("kiel", "spend:primary:2026-11-25", charge("primary", "2026-11-25", usd: 9, tokens: 9, messages: 9))
        let store = data.store(SpendProjector())
        try store.catchUp()
        let day = try store.read { try SpendQueries.spend($0, org: "haff", day: "2026-11-25") }
        #expect(day.count == 1)
        #expect(day[0].messages == 1 && day[0].tokens == 150 && abs(day[0].usd - 0.75) < 1e-9)
        #expect(try store.read { try SpendQueries.spend($0, org: "haff") }.count == 2)
        #expect(try store.read { try SpendQueries.spend($0, org: "kiel") }.first?.messages == 9)
    }

    @Test func auditActivityToolCallsAndApprovals() throws {
        let data = TestData()
        let at = Timestamp(iso8601: "2026-11-25T14:28:10Z")!.millisecondsSinceEpoch
        try data.append("haff", "session:s1", ToolRequested(agentId: "primary", sessionId: "s1", callId: "q1", tool: "data_query_tool",
                                                            arguments: ["objectType": "booking"], category: .read), at: at - 1000)
        try data.append("haff", "session:s1", ToolExecuted(agentId: "primary", sessionId: "s1", callId: "q1", tool: "data_query_tool",
                                                           arguments: ["objectType": "booking"], result: ["total": 3], durationMs: 4), at: at)
        try data.append("haff", "session:s1", ToolRequested(agentId: "primary", sessionId: "s1", callId: "call_1", tool: "booking_tool",
                                                            arguments: ["price": 450.0], category: .financial))
        try data.append("haff", "session:s1", ApprovalRequested.sample("apr_1"))
        try data.append("haff", "session:s1", ApprovalGranted(approvalId: "apr_1", decidedBy: "anna"), actor: Actor(.human, "anna"))
        try data.append("haff", "session:s1", ToolExecuted(agentId: "primary", sessionId: "s1", callId: "call_1", tool: "booking_tool",
                                                           arguments: ["price": 450.0], result: ["bookingId": "b_1"], durationMs: 12, approvalId: "apr_1"))
        try data.append("haff", "session:s1", ToolDenied(agentId: "primary", sessionId: "s1", callId: "call_2", tool: "bulk_crm_email_tool",
                                                         rule: "disabled", reason: "bulk_crm_email_tool is disabled"))
        try data.append("haff", "session:s1", ApprovalRequested.sample("apr_2", call: nil))
        try data.append("haff", "session:s1", ApprovalRejected(approvalId: "apr_2", decidedBy: "ben", reason: "too expensive"))
        try data.append("haff", "session:s1", GuardrailTripped(agentId: "primary", sessionId: "s1", guardrail: .maxCostPerDay,
                                                               detail: "5.00 USD spent", limit: 5, observed: 5.1))
        let store = data.store(AuditProjector())
        try store.catchUp()
        let lines = try store.read { try AuditQueries.activity($0, org: "haff") }.map(\.line)
        #expect(lines.first == "14:28 — Queried 3 bookings")
        #expect(lines.contains { $0.hasSuffix("— Asked for approval: create booking for €450 (requireApprovalFor: financial)") })
        #expect(lines.contains { $0.hasSuffix("— anna approved: create booking for €450") })
        #expect(lines.contains { $0.hasSuffix("— ben rejected: create booking for €450 — too expensive") })
        #expect(lines.contains { $0.contains("Guardrail max_cost_per_day tripped") })
        let calls = try rows(store, "SELECT call_id, outcome, approval_id, duration_ms, result FROM tool_calls WHERE org = 'haff' ORDER BY call_id")
        #expect(calls.map { $0["call_id"] as String } == ["call_1", "call_2", "q1"])
        #expect(calls.map { $0["outcome"] as String } == ["executed", "denied", "executed"])
        #expect(calls[0]["approval_id"] as String? == "apr_1")
        #expect(calls[2]["result"] as String? == #"{"total":3}"#)
        let approvals = try store.read { try AuditQueries.approvals($0, org: "haff") }
        #expect(approvals.map(\.state) == ["granted", "rejected"])
        #expect(approvals.map(\.decidedBy) == ["anna", "ben"])
        #expect(try store.read { try AuditQueries.approvals($0, org: "haff", state: "pending") }.isEmpty)
    }

    @Test func outboxHoldsUndeliveredMessages() throws {
        let data = TestData()
        func sent(_ id: String, org: String = "haff") -> MessageSent {
            MessageSent(messageId: id, agentId: "primary", sessionId: "s1", channel: .whatsapp, to: "+491701234567", text: "Hallo \(id)")
        }
        try data.append("haff", "session:s1", MessageDrafted(messageId: "d1", agentId: "primary", sessionId: "s1", channel: .whatsapp,
                                                             to: "+491701234567", text: "Entwurf", approvalId: "apr_1"))
        try data.append("haff", "session:s1", sent("m1"))
        try data.append("haff", "session:s1", sent("m2"))
        try data.append("kiel", "session:s1", sent("m1"))
        try data.append("haff", "session:s1", MessageDelivered(messageId: "m1"))
        try data.append("haff", "session:s1", MessageDelivered(messageId: "m2", status: .failed, error: "number unreachable"))
        let store = data.store(OutboxProjector())
        try store.catchUp()
        let haff = try store.read { try OutboxQueries.messages($0, org: "haff", states: ["drafted", "pending", "failed"]) }
        #expect(haff.map(\.messageId) == ["d1", "m2"])
        #expect(haff.map(\.state) == ["drafted", "failed"])
        #expect(haff[1].error == "number unreachable")
        #expect(try store.read { try OutboxQueries.messages($0, org: "kiel") }.map(\.messageId) == ["m1"], "kiel's m1 is not haff's")
        try data.append("haff", "session:s1", sent("d1"))
        try store.catchUp()
        #expect(try store.read { try OutboxQueries.messages($0, org: "haff", states: ["pending"]) }.map(\.messageId) == ["d1"])
    }

    @Test func undecodableEventsAreSkippedAndCounted() throws {
        let data = TestData()
        try data.appendRaw("haff", "spend:x", type: "cost.charged", #"{"agentId":"primary"}"#)
        try data.append("haff", "spend:x", CostCharged(agentId: "primary", day: "2026-11-25", usd: 1, tokens: 1, promptTokens: 1,
                                                       completionTokens: 0, messages: 1, model: "m", reservationId: "r", reservedUsd: 1))
        let store = data.store(SpendProjector())
        let report = try store.catchUp()
        #expect(report.eventsSkipped == 1 && report.eventsApplied == 1 && report.checkpoint == 2)
        #expect(try store.status().skippedEvents == 1)
    }

    @Test func oldVersionsAreUpcastOnTheFastPath() throws {
        let data = TestData()
        try data.appendRaw("haff", "session:s9", type: "message.received", version: 1,
                           #"{"channel":"whatsapp","sender":"0049 170 1234567","recipient":"+4939771234567","text":"v1 text","receivedAt":"2026-01-01T00:00:00Z"}"#)
        let store = data.store(SessionsProjector())
        try store.catchUp()
        let s = try #require(try store.read { try SessionsQueries.session($0, org: "haff", id: "s9") })
        #expect(s.externalContact == "+491701234567")
        #expect(try store.read { try SessionsQueries.transcript($0, org: "haff", session: "s9") }.map(\.text) == ["v1 text"])
    }
}
