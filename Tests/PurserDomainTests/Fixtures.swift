import Foundation
import PurserCore
import PurserDomain

/// Test data shared by the suites.
enum Fixtures {
    /// The seed's sailing-school agent, with channel addresses added, written the way
    /// a person would (spaces in the phone number, capitals in the email address).
    static let sailingSchoolConfig = #"""
    {
      "type": "org_agent",
      "subtype": "primary",
      "organizationId": "haff",
      "name": "Sailing School Assistant",
      "status": "active",
      "customProperties": {
        "displayName": "Haff Assistant",
        "personality": "friendly, professional, nautical terminology",
        "language": "de",
        "additionalLanguages": ["en"],
        "brandVoiceInstructions": "Always sign off with 'Mast- und Schotbruch!'",
        "systemPrompt": "You are the AI assistant for Segelschule am Stettiner Haff...",
        "knowledgeDocIds": ["doc_courses", "doc_directions"],
        "faqEntries": [
          {"q": "Wo finde ich euch?", "a": "Am Stettiner Haff, Hafenstraße 1, 17375 Ueckermünde."},
          {"q": "Was kostet der SBF Binnen?", "a": "Der SBF Binnen kostet 450 € inklusive Prüfungsvorbereitung."}
        ],
        "enabledTools": ["crm_tool", "booking_tool", "sequences_tool", "data_query_tool"],
        "disabledTools": ["bulk_crm_email_tool"],
        "autonomyLevel": "supervised",
        "maxMessagesPerDay": 100,
        "maxCostPerDay": 5.00,
        "requireApprovalFor": ["bulk_email", "delete_contact", "financial"],
        "blockedTopics": ["competitor pricing", "legal advice"],
        "modelProvider": "anthropic",
        "modelId": "claude-sonnet-4-20250514",
        "temperature": 0.7,
        "maxTokens": 4096,
        "channelBindings": [
          {"channel": "whatsapp", "enabled": true, "address": "+49 3977 1234567"},
          {"channel": "email", "enabled": true, "address": "Info@Segelschule-Haff.de"},
          {"channel": "webchat", "enabled": true, "address": "haff-web"},
          {"channel": "instagram_dm", "enabled": false}
        ]
      }
    }
    """#

    /// The tool names the validator is given, as the tool catalog (`Tools`, above this module)
    /// hands them to it: Purser's seven, then the seed platform's.
    static let toolNames = [
        "data_query_tool", "crm_tool", "booking_tool", "knowledge_tool", "send_message_tool", "bulk_crm_email_tool",
        "handoff_tool", "sequences_tool", "workflow_tool", "webinar_tool", "contact_sync_tool",
        "activity_protocol_tool", "projects_tool", "forms_tool",
    ]

    static var sailingSchoolJSON: JSONValue {
        get throws { try JSONValue(parsing: sailingSchoolConfig) }
    }

    static var sailingSchool: OrgAgentConfig {
        get throws { try OrgAgentConfig.load(Data(sailingSchoolConfig.utf8), tools: toolNames) }
    }

    static let t0 = Timestamp(iso8601: "2026-11-25T10:00:00.123Z")!
    static let t1 = Timestamp(iso8601: "2026-11-25T10:00:02Z")!

    static let contact = OntologyObject(
        id: "c_17", type: "crm_contact", subtype: "customer", name: "Lisa K.", status: "active",
        customProperties: ["email": "lisa@example.de", "phone": "+491609876543", "country": "DE", "totalSpent": 450.0,
                           "tags": ["sbf", "newsletter"], "address": ["city": "Ueckermünde", "zip": "17373"]],
        createdAt: Timestamp(iso8601: "2025-03-01T09:00:00Z"), updatedAt: nil)

    /// One event of every type in the catalog, with optional fields filled so round trips cover
    /// them.
    static func everyEvent() throws -> [DomainEvent] {
        let config = try sailingSchool
        let link = ObjectLink(from: "c_17", to: "b_90", linkType: "bookings")
        let arguments: JSONValue = ["objectType": "booking", "filters": [["field": "status", "op": "eq", "value": "confirmed"]], "limit": 50]
        return [
            .agentConfigured(AgentConfigured(agentId: "primary", revision: 3, config: config)),
            .agentStatusChanged(AgentStatusChanged(agentId: "primary", from: .active, to: .paused, reason: "holiday")),
            .objectCreated(ObjectCreated(object: contact)),
            .objectUpdated(ObjectUpdated(object: contact, changedFields: ["status", "customProperties.phone"])),
            .objectDeleted(ObjectDeleted(id: "c_17", objectType: "crm_contact", reason: "GDPR request")),
            .linkCreated(LinkCreated(link: link)),
            .linkDeleted(LinkDeleted(link: link)),
            .messageReceived(MessageReceived(
                channel: .email, from: "lisa@example.de", to: "info@segelschule-haff.de", text: "Hallo!\nGibt es noch Plätze?",
                externalMessageId: "<abc@mail.example.de>", receivedAt: t0, contactName: "Lisa K.", subject: "Kurs",
                inReplyTo: "<prev@haff.de>", references: ["<first@haff.de>", "<prev@haff.de>"],
                attachments: [MessageAttachment(kind: .document, url: "https://cdn.example/x.pdf", mimeType: "application/pdf",
                                                filename: "x.pdf", sizeBytes: 1024, caption: "Anmeldung")],
                agentId: "primary", sessionId: "ses_1")),
            .messageRejected(MessageRejected(code: "invalid_json", reason: "not valid JSON: unexpected '}' at column 12",
                                             source: "inbox.jsonl", lineNumber: 7, format: "jsonl", channel: nil,
                                             raw: Data([0x7B, 0xFF, 0x7D]))),
            .messageUnrouted(MessageUnrouted(channel: .whatsapp, from: "+491701234567", to: "+4930000000", text: "Hallo",
                                             externalMessageId: "wamid.X", receivedAt: t0, contactName: "Max",
                                             reason: "no agent binds whatsapp +4930000000")),
            .contactResolved(ContactResolved(channel: .whatsapp, externalContactId: "+491701234567", crmContactId: "c_18",
                                             matchedBy: .created, sessionId: "ses_1")),
            .sessionOpened(SessionOpened(sessionId: "ses_1", agentId: "primary", channel: .whatsapp,
                                         externalContactId: "+491701234567", crmContactId: "c_18", internalSession: false)),
            .sessionHandedOff(SessionHandedOff(sessionId: "ses_1", trigger: .guardrail, reason: "daily cost cap reached", handedOffTo: "anna")),
            .sessionReleased(SessionReleased(sessionId: "ses_1", releasedBy: "anna")),
            .sessionClosed(SessionClosed(sessionId: "ses_1", reason: "closed by operator")),
            .llmCompleted(LLMCompleted(agentId: "primary", sessionId: "ses_1", provider: "openrouter",
                                       model: "anthropic/claude-sonnet-4", generationId: "gen-123", promptTokens: 812,
                                       completionTokens: 64, costUsd: 0.003396, costSource: .reported, latencyMs: 1234.5,
                                       finishReason: "tool_calls", iteration: 1, content: "Ich schaue nach.",
                                       toolCallIds: ["call_1"], reservationId: "res_1")),
            .llmFailed(LLMFailed(agentId: "primary", sessionId: "ses_1", provider: "openrouter", model: "anthropic/claude-sonnet-4",
                                 error: "HTTP 503 after 4 attempts", httpStatus: 503, attempts: 4, latencyMs: 9000, reservationId: "res_2")),
            .toolRequested(ToolRequested(agentId: "primary", sessionId: "ses_1", callId: "call_1", tool: "data_query_tool",
                                         arguments: arguments, category: .read)),
            .toolDenied(ToolDenied(agentId: "primary", sessionId: "ses_1", callId: "call_2", tool: "bulk_crm_email_tool",
                                   rule: "disabled", reason: "bulk_crm_email_tool is disabled for this agent")),
            .toolExecuted(ToolExecuted(agentId: "primary", sessionId: "ses_1", callId: "call_1", tool: "data_query_tool",
                                       arguments: arguments, result: ["total": 3, "items": []], durationMs: 1.25, approvalId: "apr_1")),
            .toolFailed(ToolFailed(agentId: "primary", sessionId: "ses_1", callId: "call_3", tool: "booking_tool",
                                   arguments: ["resource": "boat_1"], error: "slot already booked", code: "conflict",
                                   durationMs: 0.5, approvalId: nil)),
            .approvalRequested(ApprovalRequested(approvalId: "apr_1", agentId: "primary", sessionId: "ses_1", kind: .toolCall,
                                                 callId: "call_4", tool: "booking_tool", arguments: ["price": 450],
                                                 replyText: nil, messageId: nil, category: .financial,
                                                 rule: "requireApprovalFor: financial", summary: "create booking for €450",
                                                 expiresAt: t1)),
            .approvalGranted(ApprovalGranted(approvalId: "apr_1", decidedBy: "anna", editedArguments: ["price": 400],
                                             editedText: nil, diff: JSONValue.diff(from: ["price": 450], to: ["price": 400]))),
            .approvalRejected(ApprovalRejected(approvalId: "apr_2", decidedBy: "ben", reason: "not during the holidays")),
            .approvalExpired(ApprovalExpired(approvalId: "apr_3", expiresAt: t1)),
            .messageDrafted(MessageDrafted(messageId: "out_1", agentId: "primary", sessionId: "ses_1", channel: .whatsapp,
                                           to: "+491701234567", text: "Der nächste Kurs beginnt am 30.11.", inReplyTo: "01JD2ZP3W8",
                                           approvalId: "apr_5")),
            .messageSent(MessageSent(messageId: "out_1", agentId: "primary", sessionId: "ses_1", channel: .email,
                                     from: "info@segelschule-haff.de", to: "lisa@example.de", text: "Ja, es gibt noch Plätze.",
                                     subject: "Re: Kurs", inReplyTo: "01JD2ZP3W8", approvalId: "apr_5")),
            .messageDelivered(MessageDelivered(messageId: "out_1", status: .read, externalMessageId: "wamid.OUT",
                                               deliveredAt: t1, error: nil)),
            .costCharged(CostCharged(agentId: "primary", sessionId: "ses_1", day: "2026-11-25", usd: 0.003396, tokens: 876,
                                     promptTokens: 812, completionTokens: 64, messages: 1, model: "anthropic/claude-sonnet-4",
                                     reservationId: "res_1", reservedUsd: 0.0652, generationId: "gen-123")),
            .guardrailTripped(GuardrailTripped(agentId: "primary", sessionId: "ses_1", guardrail: .maxCostPerDay,
                                               detail: "reserving $0.07 would exceed the $5.00 daily cap", limit: 5,
                                               observed: 5.04, topic: nil)),
        ]
    }
}

extension JSONValue {
    /// Sets (or with `nil` removes) the member at `path` in nested objects, creating objects on
    /// the way.
    mutating func set(_ path: [String], _ value: JSONValue?) {
        guard let key = path.first else { return }
        var members = objectValue ?? [:]
        if path.count == 1 {
            members[key] = value
        } else {
            var child = members[key] ?? .object([:])
            child.set(Array(path.dropFirst()), value)
            members[key] = child
        }
        self = .object(members)
    }
}
