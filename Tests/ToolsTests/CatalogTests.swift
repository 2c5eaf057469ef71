import Foundation
import GRDB
import PurserDomain
import Testing
import Tools

@Suite("Tool catalog")
struct CatalogTests {
    @Test("the catalog is the one list of tool names: Purser's seven, then the seed platform's")
    func oneListOfNames() {
        let catalog = ToolCatalog.standard
        for tool in ["data_query_tool", "crm_tool", "booking_tool", "knowledge_tool", "send_message_tool", "bulk_crm_email_tool",
                     "handoff_tool"] {
            #expect(catalog[tool] != nil, "\(tool)")
        }
        for tool in ["sequences_tool", "workflow_tool", "webinar_tool", "contact_sync_tool", "activity_protocol_tool", "projects_tool",
                     "forms_tool"] {
            #expect(catalog[tool] == nil && catalog.acceptedNames.contains(tool), "\(tool)")
        }
        #expect(!catalog.acceptedNames.contains("Crm_Tool"))
        #expect(catalog.acceptedNames.count == Set(catalog.acceptedNames).count)
    }

    @Test("every entry is whole: description, strict schema, a category for any JSON, a sentence template")
    func entriesAreWhole() {
        for entry in ToolCatalog.standard.entries {
            #expect(!entry.description.isEmpty, "\(entry.name)")
            #expect(entry.parameters["type"] == "object" && entry.parameters["additionalProperties"] == false, "\(entry.name)")
            #expect(!entry.sentence.template.isEmpty, "\(entry.name)")
            // The policy classifies calls before validating them (audits re-run it on recorded junk).
            for junk: JSONValue in [.null, [], "x", ["action": 5]] {
                _ = entry.categoryOf(junk)
            }
        }
        #expect(ToolCatalog.standard.category(of: "sequences_tool", arguments: .emptyObject) == nil)
    }

    @Test("the config validator takes the catalog's names: seed names load, a misspelling gets the right suggestion")
    func validatorReadsTheCatalog() throws {
        func config(_ tools: String) -> Data {
            Data(#"{"organizationId": "haff", "name": "Bot", "customProperties": {"enabledTools": [\#(tools)]}}"#.utf8)
        }
        let tools = ToolCatalog.standard.acceptedNames
        let loaded = try OrgAgentConfig.load(config(#""crm_tool", "sequences_tool""#), tools: tools)
        #expect(loaded.customProperties.enabledTools == ["crm_tool", "sequences_tool"])
        let error = #expect(throws: DomainError.self) { try OrgAgentConfig.load(config(#""crm_tol""#), tools: tools) }
        #expect(error?.problems.first?.message.hasPrefix("unknown tool 'crm_tol'; did you mean 'crm_tool'?") == true)
    }

    /// The activity log (audit projector) and `purser replay` printed two different sentences for
    /// a data query; both now print the catalog's, and this is the behaviour kept: the object
    /// type without `crm_`, pluralized; "Summed up" for an aggregate without a count; no filters.
    @Test("the data query sentence the activity log and the replay print")
    func dataQuerySentence() {
        func sentence(_ arguments: JSONValue, _ result: JSONValue) -> String? {
            ToolCatalog.standard.sentence(tool: "data_query_tool", call: ToolExecuted(
                agentId: "primary", sessionId: "s1", callId: "q1", tool: "data_query_tool", arguments: arguments, result: result, durationMs: 1))
        }
        let filters: JSONValue = [["field": "status", "op": "eq", "value": "confirmed"]]
        #expect(sentence(["objectType": "booking", "filters": filters], ["total": 3]) == "Queried 3 bookings")
        #expect(sentence(["objectType": "crm_contact"], ["total": 1]) == "Queried 1 contact")
        #expect(sentence(["objectType": "company"], ["total": 2]) == "Queried 2 companies")
        #expect(sentence(["objectType": "booking", "aggregate": ["type": "sum", "field": "price"]], ["aggregate": ["sum": 900]]) == "Summed up bookings")
        #expect(sentence(["objectType": "booking"], ["error": ["code": "x"]]) == "Queried bookings")
        // A tool without a sentence of its own leaves the wording to the printer.
        #expect(ToolCatalog.standard.sentence(tool: "crm_tool", call: ToolExecuted(
            agentId: "primary", callId: "c1", tool: "crm_tool", arguments: .emptyObject, result: .emptyObject, durationMs: 1)) == nil)
    }
}
