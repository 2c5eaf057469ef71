import PurserCore
import Foundation
import GRDB
import PurserDomain

extension ToolDefinition {
    /// `data_query_tool`: the org's CRM objects through the query language (docs/QUERY-LANGUAGE.md).
    public static let dataQuery = ToolDefinition(
        name: "data_query_tool", description: DataQueryExecutor.description, parameters: DataQueryExecutor.parameters,
        baseCategory: .read, sentence: DataQueryExecutor.sentence,
        executor: { DataQueryExecutor(engine: $0.dataQueries ?? DataQueryEngine(reader: $0.crm)) })
}

/// Runs a parsed query for one org: over the SQLite crm model (`DataQueryEngine`) or the one in
/// PostgreSQL (`PostgresDataQueryEngine`), with the same answers.
public protocol DataQueryRunning: Sendable {
    func run(_ query: DataQuery, org: OrgID, scope: RowScope) async throws(ToolError) -> JSONValue
}

extension DataQueryEngine: DataQueryRunning {
    /// SQLite blocks: the query runs off the cooperative pool.
    public func run(_ query: DataQuery, org: OrgID, scope: RowScope) async throws(ToolError) -> JSONValue {
        try await BlockingIO.run { () throws(ToolError) -> JSONValue in try self.run(query, org: org, scope: scope) }
    }
}

/// `data_query_tool` over the `crm` read model.
public struct DataQueryExecutor: ToolExecutor {
    public let engine: any DataQueryRunning

    public init(engine: any DataQueryRunning) {
        self.engine = engine
    }

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let query = try DataQuery.parse(arguments, now: context.now)
        return ToolOutcome(result: try await engine.run(query, org: context.org, scope: RowScope.of(context)))
    }

    static let fieldDescription: JSONValue = .string(
        "id, type, subtype, name, status, createdAt, updatedAt, or customProperties.<path> (letters, digits, _; dots between parts)")

    static let description = """
        Query the organization's own CRM objects (contacts, bookings, and other types). \
        objectType is required (e.g. "crm_contact", "booking"). filters: [{field, op, value}] with op one of \
        eq, neq, gt, gte, lt, lte, in, nin, contains, startsWith, exists. Numbers compare as numbers, ISO-8601 \
        dates ("2026-11-25" or "2026-11-25T10:00:00Z") as instants, other strings as strings (case-sensitive, \
        except contains and startsWith, which ignore case and accents). \
        Relative dates: {"relative": "-7d"} (units h d w M y), "startOfDay", "startOfWeek" (Monday), \
        "startOfMonth", "startOfYear", optionally with an offset such as "startOfMonth-1M"; all UTC. \
        neq and nin also match objects without the field. aggregate: {type: count|sum|avg|min|max, field}, \
        optionally with groupBy (a field). With an aggregate, limit defaults to 0 (no items); otherwise 50, \
        at most 200. includeRelated: link types (e.g. ["contact"]) to attach linked objects to each item. \
        sort: [{field, dir: asc|desc}]; dates sort by instant. Long text is cut and marked "…[trimmed N chars]".
        """

    static let parameters: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "required": ["objectType"],
        "properties": [
            "objectType": ["type": "string", "minLength": 1, "maxLength": .number(Double(DataQuery.maxObjectTypeLengthCharacters))],
            "filters": [
                "type": "array", "maxItems": .number(Double(DataQuery.maxFilterCount)),
                "items": [
                    "type": "object", "additionalProperties": false, "required": ["field", "op"],
                    "properties": [
                        "field": ["type": "string", "description": fieldDescription],
                        "op": ["type": "string", "enum": .array(DataQuery.Operator.allCases.map { .string($0.rawValue) })],
                        "value": ["description": "string, number, boolean, array (for in/nin), or {\"relative\": \"-7d\"}"],
                    ],
                ],
            ],
            "includeRelated": ["type": "array", "maxItems": .number(Double(DataQuery.maxIncludeRelatedCount)), "items": ["type": "string"]],
            "aggregate": [
                "type": "object", "additionalProperties": false, "required": ["type"],
                "properties": [
                    "type": ["type": "string", "enum": .array(DataQuery.AggregateKind.allCases.map { .string($0.rawValue) })],
                    "field": ["type": "string", "description": fieldDescription],
                ],
            ],
            "groupBy": ["type": "string", "description": fieldDescription],
            "sort": [
                "type": "array", "maxItems": .number(Double(DataQuery.maxSortKeyCount)),
                "items": [
                    "type": "object", "additionalProperties": false, "required": ["field"],
                    "properties": ["field": ["type": "string"], "dir": ["type": "string", "enum": ["asc", "desc"]]],
                ],
            ],
            "limit": ["type": "integer", "minimum": 0, "maximum": .number(Double(DataQuery.maxLimitObjects))],
            "offset": ["type": "integer", "minimum": 0, "maximum": .number(Double(DataQuery.maxOffsetObjects))],
        ],
    ]

    /// "Queried 3 bookings", "Summed up bookings" (an aggregate without a count), "Queried
    /// contacts" (no count known): the object type without its `crm_` prefix, in the plural.
    static let sentence = ToolSentence(template: "Queried {result.total} {arguments.objectType}s") { call in
        let type = call.argumentString("objectType") ?? "object"
        if let total = call.resultNumber("total"), total >= 0, total == total.rounded(), total < 1e15 {
            let n = Int(total)
            return "Queried \(n) \(plural(type, n))"
        }
        if call.resultHas("aggregate") { return "Summed up \(plural(type, 2))" }
        return "Queried \(plural(type, 2))"
    }

    /// `crm_contact` → "contacts", `booking` → "bookings", `company` → "companies"; one stays singular.
    static func plural(_ objectType: String, _ n: Int) -> String {
        let words = objectType.replacingOccurrences(of: "crm_", with: "").replacingOccurrences(of: "_", with: " ")
        if n == 1 { return words }
        if words.hasSuffix("s") { return words }
        if words.hasSuffix("y"), !words.hasSuffix("ay"), !words.hasSuffix("ey") { return String(words.dropLast()) + "ies" }
        return words + "s"
    }
}
