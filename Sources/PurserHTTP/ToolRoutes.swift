import Foundation
import Hummingbird
import PurserDomain
import Tools

/// `GET /api/tools`: the tool catalog, so the dashboard and API clients read the one list of
/// tools instead of keeping their own (docs/HTTP.md).
struct ToolRoutes {
    let catalog: ToolCatalog

    func register(_ api: RouterGroup<PurserRequestContext>) {
        api.get("tools") { _, context -> Response in
            guard context.token != nil else { return Reply.error(.unauthorized, "unauthorized", "no token") }
            return Reply.json(try JSONValue(encoding: ToolListing(catalog)))
        }
    }

}

/// The answer of `GET /api/tools`.
struct ToolListing: Codable, Sendable, OpenAPIDescribed {
    struct Tool: Codable, Sendable {
        var name: String
        /// False for names configs may mention that this build does not implement; such a tool
        /// has none of the members below.
        var implemented: Bool
        var description: String?
        /// The category of the tool's most common call (some calls of a tool rank higher, e.g. a
        /// paid booking is `financial`).
        var category: ActionCategory?
        /// How the activity log and `purser replay` describe an executed call, values in `{…}`.
        var sentence: String?
        /// The JSON Schema of the arguments, as the model is sent it.
        var parameters: JSONValue?
    }

    var tools: [Tool]
    /// Every action category, for `requireApprovalFor`.
    var categories: [ActionCategory]

    init(_ catalog: ToolCatalog) {
        tools = catalog.entries.map {
            Tool(name: $0.name, implemented: true, description: $0.description, category: $0.baseCategory,
                 sentence: $0.sentence.template, parameters: $0.parameters)
        } + catalog.notImplemented.map { Tool(name: $0, implemented: false) }
        categories = ActionCategory.allCases
    }

    static var schema: Schema { Schema(schemaJSON) }

    static let schemaJSON: JSONValue = {
        let category: JSONValue = ["type": "string", "enum": .array(ActionCategory.allCases.map { .string($0.rawValue) })]
        return [
            "type": "object", "additionalProperties": false, "required": ["tools", "categories"],
            "properties": [
                "tools": [
                    "type": "array",
                    "items": [
                        "type": "object", "additionalProperties": false, "required": ["name", "implemented"],
                        "properties": [
                            "name": ["type": "string"],
                            "implemented": ["type": "boolean"],
                            "description": ["type": "string"],
                            "category": category,
                            "sentence": ["type": "string"],
                            "parameters": ["type": "object", "description": "a JSON Schema", "additionalProperties": true],
                        ],
                    ],
                ],
                "categories": ["type": "array", "items": category],
            ],
        ]
    }()
}
