import Foundation
import GRDB
import PurserCore
import PurserDomain
import Testing
@testable import Tools

/// Schema-invalid model arguments come back as errors the model can correct from, and nothing runs.
@Suite struct ArgumentTests {
    static let now = Timestamp(iso8601: "2026-11-25T14:30:00Z")!
    static let context = ToolContext(org: "org_a", agentId: "primary", now: now)

    static func registry() throws -> ToolRegistry {
        let store = try CRMStore.make(["org_a": ([
            TestObject(id: "c_1", type: "crm_contact", subtype: nil, name: String(repeating: "é", count: 1234), status: nil,
                       customProperties: ["bio": .string(String(repeating: "x", count: 700))],
                       createdAt: "2026-11-20T09:00:00Z", updatedAt: "2026-11-20T09:00:00Z"),
        ], [])])
        return ToolRegistry.standard(crm: store)
    }

    @Test(arguments: [
        (ToolDefinition.dataQuery.name, #"{}"#, "objectType"),
        (ToolDefinition.dataQuery.name, #"{"objectType": 5}"#, "objectType"),
        (ToolDefinition.dataQuery.name, #"{"objectType": "booking", "limit": 201}"#, "limit"),
        (ToolDefinition.dataQuery.name, #"{"objectType": "booking", "limit": 2.5}"#, "limit"),
        (ToolDefinition.dataQuery.name, #"{"objectType": "booking", "where": "1=1"}"#, "where"),
        (ToolDefinition.dataQuery.name, #"{"objectType": "booking", "filters": [{"field": "status", "op": "like", "value": "x"}]}"#, "filters[0].op"),
        (ToolDefinition.dataQuery.name, #"{"objectType": "booking", "aggregate": {"type": "median"}}"#, "aggregate.type"),
        (ToolDefinition.crm.name, #"{"action": "purge"}"#, "action"),
        (ToolDefinition.crm.name, #"{"contactId": "c_1"}"#, "action"),
        (ToolDefinition.booking.name, #"{"action": "create", "price": -1}"#, "price"),
        (ToolDefinition.sendMessage.name, #"{"text": ""}"#, "text"),
        (ToolDefinition.sendMessage.name, #"{"text": "hi", "to": "+4917012345"}"#, "to"),
        (ToolDefinition.handoff.name, #"[]"#, ""),
    ])
    func invalidArgumentsAreRefused(tool: String, arguments: String, field: String) async throws {
        let result = await try Self.registry().call(tool, arguments: try JSONValue(parsing: arguments), context: Self.context).result
        #expect(result["error"]?["code"] == "invalid_arguments", "\(result.serialized())")
        #expect((result["error"]?["field"]?.stringValue ?? "") == field, "\(result.serialized())")
        #expect(result["error"]?["message"]?.stringValue?.isEmpty == false)
    }

    @Test(arguments: [
        (#"{"objectType":"booking","filters":[{"field":"price","op":"eq","value":1}]}"#, "unknown_field", "filters[0].field"),
        (#"{"objectType":"booking","filters":[{"field":"customProperties.1x","op":"eq","value":1}]}"#, "invalid_field_path", "filters[0].field"),
        (#"{"objectType":"booking","filters":[{"field":"name","op":"gt","value":3}]}"#, "bad_value_type", "filters[0].value"),
        (#"{"objectType":"booking","filters":[{"field":"createdAt","op":"gt","value":"last week"}]}"#, "bad_value_type", "filters[0].value"),
        (#"{"objectType":"booking","filters":[{"field":"createdAt","op":"gt","value":{"relative":"-7 days"}}]}"#, "invalid_relative_date", "filters[0].value"),
        (#"{"objectType":"booking","filters":[{"field":"customProperties.vip","op":"gt","value":true}]}"#, "bad_value_type", "filters[0].value"),
        (#"{"objectType":"booking","filters":[{"field":"customProperties.vip","op":"eq","value":null}]}"#, "bad_value_type", "filters[0].value"),
        (#"{"objectType":"booking","filters":[{"field":"status","op":"in","value":[]}]}"#, "bad_value_type", "filters[0].value"),
        (#"{"objectType":"booking","filters":[{"field":"status","op":"exists","value":"yes"}]}"#, "bad_value_type", "filters[0].value"),
        (#"{"objectType":"booking","aggregate":{"type":"sum","field":"name"}}"#, "unknown_aggregate", "aggregate.field"),
        (#"{"objectType":"booking","aggregate":{"type":"avg"}}"#, "unknown_aggregate", "aggregate.field"),
        (#"{"objectType":"booking","offset":10001}"#, "out_of_range", "offset"),
        (#"{"objectType":"booking","sort":[{"field":"name","dir":"up"}]}"#, "invalid_sort", "sort[0].dir"),
    ])
    func badQueriesNameTheFix(text: String, code: String, field: String) throws {
        let engine = DataQueryEngine(reader: try DatabaseQueue())
        let result = engine.execute(arguments: try JSONValue(parsing: text), org: "org_a", now: Self.now)
        #expect(result["error"]?["code"]?.stringValue == code, "\(result.serialized())")
        #expect(result["error"]?["field"]?.stringValue == field, "\(result.serialized())")
    }

    @Test func unknownToolsAndUnavailableExecutorsFailPlainly() async throws {
        let registry = try Self.registry()
        let unavailable = ToolRegistry(catalog: ToolCatalog([ToolDefinition(name: "later_tool", description: "not built", parameters: ["type": "object"],
                                                                             baseCategory: .read, executor: { _ in UnavailableExecutor(tool: "later_tool") })]),
                                       environment: ToolEnvironment(crm: try DatabaseQueue()))
        let outcome = await unavailable.call("later_tool", arguments: .emptyObject, context: Self.context)
        #expect(outcome.result["error"]?["code"] == "tool_unavailable" && outcome.effects.isEmpty)
        let unknown = await registry.call("sql_tool", arguments: .emptyObject, context: Self.context).result
        #expect(unknown["error"]?["code"] == "unknown_tool")
    }

    @Test func resultsAreCompactAndTrimmed() async throws {
        let result = await try Self.registry().call(ToolDefinition.dataQuery.name, arguments: ["objectType": "crm_contact"], context: Self.context).result
        #expect(result["objectType"] == "crm_contact" && result["total"] == 1 && result["limit"] == 50 && result["offset"] == 0)
        let item = try #require(result["items"]?[0])
        #expect(item["name"]?.stringValue == String(repeating: "é", count: 500) + "…[trimmed 734 chars]")
        #expect(item["customProperties"]?["bio"]?.stringValue?.hasSuffix("…[trimmed 200 chars]") == true)
        #expect(item["subtype"] == nil)
    }

    @Test func everyToolDeclaresAValidSchema() throws {
        let registry = try Self.registry()
        #expect(Set(registry.names) == Set(ToolCatalog.standard.names))
        for name in registry.names {
            let tool = try #require(registry[name])
            #expect(tool.parameters["type"] == "object" && tool.parameters["additionalProperties"] == false)
            #expect(tool.functionDeclaration["function"]?["name"]?.stringValue == name)
        }
    }

    @Test func aggregateDefaultsToNoItemsAndRelativeDatesWork() throws {
        let engine = DataQueryEngine(reader: try CRMStore.make(["org_a": ([
            TestObject(id: "b_1", type: "booking", customProperties: ["price": 40], createdAt: "2026-11-24T09:00:00Z", updatedAt: "2026-11-24T09:00:00Z"),
            TestObject(id: "b_2", type: "booking", customProperties: ["price": 60], createdAt: "2026-11-02T09:00:00Z", updatedAt: "2026-11-02T09:00:00Z"),
            TestObject(id: "b_3", type: "booking", customProperties: ["price": 99], createdAt: "2026-10-30T09:00:00Z", updatedAt: "2026-10-30T09:00:00Z"),
        ], [])]))
        let thisWeek = engine.execute(arguments: ["objectType": "booking", "aggregate": ["type": "count"],
                                                  "filters": [["field": "createdAt", "op": "gte", "value": ["relative": "startOfWeek"]]]],
                                      org: "org_a", now: Self.now)
        #expect(thisWeek["aggregate"]?["value"] == 1 && thisWeek["items"] == [] && thisWeek["limit"] == 0)
        let thisMonth = engine.execute(arguments: ["objectType": "booking", "aggregate": ["type": "sum", "field": "customProperties.price"],
                                                   "filters": [["field": "createdAt", "op": "gte", "value": ["relative": "startOfMonth"]]]],
                                       org: "org_a", now: Self.now)
        #expect(thisMonth["aggregate"]?["value"] == 100)
        let earliest = engine.execute(arguments: ["objectType": "booking", "aggregate": ["type": "min", "field": "createdAt"]], org: "org_a", now: Self.now)
        #expect(earliest["aggregate"]?["value"] == "2026-10-30T09:00:00Z")
    }
}
