import Audit
import PurserDomain
import Testing

@Suite("Replay sentences")
struct SentenceTests {
    @Test("replay prints the tool catalog's sentence, the same the activity log prints")
    func replayUsesTheCatalogSentence() {
        let query = ToolExecuted(agentId: "primary", sessionId: "s1", callId: "q1", tool: "data_query_tool",
                                 arguments: ["objectType": "crm_contact", "filters": [["field": "status", "op": "eq", "value": "lead"]]],
                                 result: ["total": 2], durationMs: 3)
        #expect(EventSentence.describe(.toolExecuted(query)) == "Queried 2 contacts")
        let crm = ToolExecuted(agentId: "primary", sessionId: "s1", callId: "c1", tool: "crm_tool",
                               arguments: ["action": "find", "query": "Lisa"], result: ["contacts": []], durationMs: 3)
        #expect(EventSentence.describe(.toolExecuted(crm)) == #"Ran crm_tool: {"action":"find","query":"Lisa"}"#)
    }
}
