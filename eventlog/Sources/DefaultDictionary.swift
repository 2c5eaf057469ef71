/// The LZ4 dictionary a new log starts with: envelopes shaped like Purser's own traffic, so a
/// frame holding one or two events (the common case when frames are per org) still finds its
/// keys, types and value shapes as matches. LZ4 looks back at most 64 KiB and prefers nearby
/// matches, so the commonest fragments come last. A log keeps its dictionary in `lz4.dict`
/// forever: changing this text changes only logs created afterwards.
enum DefaultDictionary {
    static let text: String = {
        let types = [
            ("agent.configured", #"{"agentId":"primary","config":{"type":"org_agent","subtype":"primary","organizationId":"haff","name":"Sailing School Assistant","status":"active","customProperties":{"displayName":"Haff Assistant","language":"de","autonomyLevel":"supervised","maxMessagesPerDay":100,"maxCostPerDay":5.0,"enabledTools":["crm_tool","booking_tool","data_query_tool"],"channelBindings":[{"channel":"whatsapp","enabled":true,"address":"+4939771234567"}]}}}"#),
            ("object.created", #"{"object":{"id":"c_17","type":"crm_contact","subtype":"customer","name":"Lisa K.","status":"active","customProperties":{"email":"lisa@example.de","phone":"+491609876543","country":"DE","totalSpent":450.0},"createdAt":"2025-03-01T09:00:00Z"}}"#),
            ("object.updated", #"{"id":"b_90","type":"booking","changes":{"status":"confirmed","customProperties.startsAt":"2026-11-30T09:00:00Z","customProperties.price":450.0}}"#),
            ("link.created", #"{"from":"c_17","to":"b_90","linkType":"bookings"}"#),
            ("contact.resolved", #"{"sessionId":"ses_01JD2ZP3W8","contactId":"c_17","created":false,"phone":"+491701234567"}"#),
            ("session.opened", #"{"sessionId":"ses_01JD2ZP3W8","agentId":"primary","channel":"whatsapp","externalContactId":"+491701234567","crmContactId":"c_17"}"#),
            ("llm.completed", #"{"sessionId":"ses_01JD2ZP3W8","agentId":"primary","model":"anthropic/claude-sonnet-4","generationId":"gen-1732528800-abc","promptTokens":1843,"completionTokens":112,"costUsd":0.00721,"latencyMs":843,"finishReason":"tool_calls"}"#),
            ("tool.requested", #"{"sessionId":"ses_01JD2ZP3W8","callId":"call_01JD2ZP3W8","tool":"data_query_tool","arguments":{"objectType":"booking","filters":[{"field":"status","op":"eq","value":"confirmed"}],"limit":50}}"#),
            ("tool.executed", #"{"sessionId":"ses_01JD2ZP3W8","callId":"call_01JD2ZP3W8","tool":"data_query_tool","category":"read","durationMs":2,"result":{"objectType":"booking","total":3,"limit":50,"offset":0,"items":[]}}"#),
            ("approval.requested", #"{"approvalId":"apr_01JD2ZP3W8","sessionId":"ses_01JD2ZP3W8","tool":"booking_tool","category":"financial","reason":"requireApprovalFor","expiresAt":"2026-11-26T10:00:00.000Z"}"#),
            ("cost.charged", #"{"agentId":"primary","sessionId":"ses_01JD2ZP3W8","day":"2026-11-25","usd":0.00721,"tokens":1955,"reservationId":"res_01JD2ZP3W8","model":"anthropic/claude-sonnet-4"}"#),
            ("message.sent", #"{"sessionId":"ses_01JD2ZP3W8","messageId":"msg_01JD2ZP3W8","channel":"whatsapp","to":"+491701234567","text":"Der nächste SBF-Binnen-Kurs beginnt am Samstag. Mast- und Schotbruch!"}"#),
            ("message.received", #"{"channel":"whatsapp","to":"+4939771234567","from":"+491701234567","text":"Wann ist der nächste SBF-Kurs?","externalMessageId":"wamid.HBgLNDkxNzAxMjM0NTY3FQIAEhgUM0VCMDRBNkQ0","receivedAt":"2026-11-25T10:00:00Z","contactName":"Max Mustermann","sessionId":"ses_01JD2ZP3W8"}"#),
        ]
        var out = ""
        for (type, data) in types {
            out += #"{"seq":1042,"id":"01JD2ZP3W8QK7M4R9T2V5X8B1C","ts":"2026-11-25T10:00:00.123Z","org":"haff","stream":"session:ses_01JD2ZP3W8QK7M4R9T2V5X","type":""# + type
            out += #"","v":1,"correlationId":"01JD2ZP3W8QK7M4R9T2V5X8B1C","causationId":"01JD2ZP3W8QK7M4R9T2V5X8B1C","actor":{"kind":"agent","id":"primary"},"data":"# + data + "}\n"
        }
        out += #"{"seq":1043,"id":"01JD2ZP3W8","ts":"2026-11-25T10:00:00.123Z","org":"org-0001","stream":"session:ses_01JD","type":"message.received","v":1,"actor":{"kind":"customer","id":"+4917"},"data":{"channel":"whatsapp","text":""}}"# + "\n"
        return out
    }()

    static var bytes: [UInt8] { Array(text.utf8) }
}
