import Channels
import Foundation
import PurserDomain

/// The OpenAPI 3.0 description of the HTTP API, served at `/openapi.json`: one `Route` per
/// operation, its bodies named by type, each type's schema taken from its own description
/// (`OpenAPIDescribed`), so the document says what the handlers send. The webhooks' operations
/// come from the channel registry, as their handlers do (`WebhookRoutes.documented`).
enum OpenAPIDocument {
    /// A named schema under `components/schemas`: a body type's own, or a webhook body its
    /// channel adapter describes.
    struct Component: Sendable {
        var name: String
        var schema: Schema

        init(_ type: any OpenAPIDescribed.Type) {
            name = type.schemaName
            schema = type.schema
        }

        init(_ body: WebhookRoute.Body) {
            name = body.name
            schema = Schema(body.schema)
        }
    }

    /// What an answer carries.
    enum Content: Sendable {
        case json(any OpenAPIDescribed.Type)
        case text(contentType: String)
        /// Server-sent events; the schema is one event's (its `id`, `event` and `data` lines).
        case eventStream
    }

    /// One server-sent event of the org's stream.
    static let serverSentEvent = Schema.object([
        "id": .string("the event's seq", pattern: "^[0-9]+$"),
        "event": .string("the event's type, e.g. message.received"),
        "data": .string("the event's envelope as JSON (eventlog/EVENTS.md)"),
    ], required: ["id", "event", "data"])

    struct Answer: Sendable {
        var status: Int
        var description: String
        var content: Content

        /// An error answer: the one error body.
        static func error(_ status: Int, _ description: String) -> Answer { Answer(status: status, description: description, content: .json(ErrorBody.self)) }
    }

    struct Route: Sendable {
        var method: String
        var path: String
        var summary: String
        /// The least role a token needs; nil for routes without a token (webhooks, health).
        var role: Role?
        var parameters: [JSONValue] = []
        var body: Component?
        /// A body that may be left out (every field optional).
        var bodyOptional = false
        var answers: [Answer]
    }

    static let orgParameter: JSONValue = ["name": "org", "in": "path", "required": true, "schema": ["type": "string"]]
    static let idParameter: JSONValue = ["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]
    static func query(_ name: String, _ schema: Schema) -> JSONValue { ["name": .string(name), "in": "query", "required": false, "schema": schema.json] }
    static func header(_ name: String, _ schema: Schema) -> JSONValue { ["name": .string(name), "in": "header", "required": false, "schema": schema.json] }

    static let readErrors: [Answer] = [.error(401, "no or bad token"), .error(404, "no such org (or another org's) or object"),
                                       .error(429, "rate limited"), .error(503, "a read model cannot be read; retry")]
    static let actErrors: [Answer] = readErrors + [.error(400, "invalid body"), .error(403, "role too low"),
                                                   .error(409, "already decided or wrong state"), .error(413, "body over 1 MiB")]
    static func ok(_ type: any OpenAPIDescribed.Type, _ description: String) -> Answer { Answer(status: 200, description: description, content: .json(type)) }

    /// Every operation of the server but the dashboard's files.
    static let routes: [Route] = apiRoutes + ChannelRegistry.adapters.flatMap(WebhookRoutes.documented)

    static let apiRoutes: [Route] = [
        Route(method: "get", path: "/healthz", summary: "The server is up; the log's head", role: nil, answers: [ok(HealthAnswer.self, "up")]),
        Route(method: "get", path: "/readyz", summary: "The server can take work: its store answers and the store's schema is current", role: nil,
              answers: [ok(ReadyAnswer.self, "ready"), .error(503, "the store is unreachable or its schema is not current")]),
        Route(method: "get", path: "/api/tools", summary: "The tool catalog: every tool an agent config may name, its action category, argument schema and activity sentence",
              role: .viewer, answers: [ok(ToolListing.self, "the catalog"), .error(401, "no or bad token"), .error(429, "rate limited")]),
        Route(method: "get", path: "/api/channels", summary: "The channel registry: every channel an agent may bind and sessions run on, with its label",
              role: .viewer, answers: [ok(ChannelListing.self, "the channels"), .error(401, "no or bad token"), .error(429, "rate limited")]),
        Route(method: "get", path: "/api/whoami", summary: "The token's org, role and label", role: .viewer,
              answers: [ok(WhoAmI.self, "who"), .error(401, "no or bad token"), .error(429, "rate limited")]),
        Route(method: "get", path: "/api/orgs/{org}/agent", summary: "The org's agent: config in force, status, version history", role: .viewer,
              parameters: [orgParameter], answers: [ok(AgentAnswer.self, "agent")] + readErrors),
        Route(method: "put", path: "/api/orgs/{org}/agent", summary: "Apply a new org_agent config (validated; every problem listed)", role: .admin,
              parameters: [orgParameter], body: Component(AgentConfigBody.self), answers: [ok(AgentRevisionAnswer.self, "new revision")] + actErrors),
        Route(method: "get", path: "/api/orgs/{org}/sessions", summary: "Sessions, newest activity first", role: .viewer,
              parameters: [orgParameter, query("status", .string(enumeration: ["active", "handed_off", "closed"])),
                           query("channel", .string(enumeration: PurserDomain.Channel.allCases.map(\.rawValue)))],
              answers: [ok(SessionsAnswer.self, "sessions"), .error(400, "bad filter")] + readErrors),
        Route(method: "get", path: "/api/orgs/{org}/sessions/{id}", summary: "A session and its transcript", role: .viewer,
              parameters: [orgParameter, idParameter], answers: [ok(SessionAnswer.self, "session")] + readErrors),
        Route(method: "post", path: "/api/orgs/{org}/sessions/{id}/takeover", summary: "Take the session over; the agent stays silent", role: .operator,
              parameters: [orgParameter, idParameter], answers: [ok(OutcomeAnswer.self, "outcome")] + actErrors),
        Route(method: "post", path: "/api/orgs/{org}/sessions/{id}/reply", summary: "Reply as a human (through the outbox)", role: .operator,
              parameters: [orgParameter, idParameter], body: Component(TextRequest.self), answers: [ok(OutcomeAnswer.self, "outcome")] + actErrors),
        Route(method: "post", path: "/api/orgs/{org}/sessions/{id}/release", summary: "Give the session back to the agent", role: .operator,
              parameters: [orgParameter, idParameter], answers: [ok(OutcomeAnswer.self, "outcome")] + actErrors),
        Route(method: "get", path: "/api/orgs/{org}/approvals", summary: "Approvals, pending by default", role: .viewer,
              parameters: [orgParameter, query("state", .string(enumeration: ["pending", "granted", "rejected", "expired", "all"]))],
              answers: [ok(ApprovalsAnswer.self, "approvals"), .error(400, "bad filter")] + readErrors),
        Route(method: "post", path: "/api/orgs/{org}/approvals/{id}/approve",
              summary: "Approve, optionally edited; runs the held action and resumes the agent", role: .operator,
              parameters: [orgParameter, idParameter], body: Component(ApproveRequest.self), bodyOptional: true,
              answers: [ok(OutcomeAnswer.self, "outcome")] + actErrors),
        Route(method: "post", path: "/api/orgs/{org}/approvals/{id}/reject", summary: "Reject; the reason is fed back to the agent", role: .operator,
              parameters: [orgParameter, idParameter], body: Component(RejectRequest.self), bodyOptional: true,
              answers: [ok(OutcomeAnswer.self, "outcome")] + actErrors),
        Route(method: "get", path: "/api/orgs/{org}/activity", summary: "The activity log, newest first, paged", role: .viewer,
              parameters: [orgParameter, query("limit", .integer(minimum: 1, maximum: HTTPLimits.activityPageItemsMax)), query("before", .integer(minimum: 1))],
              answers: [ok(ActivityAnswer.self, "a page"), .error(400, "bad paging")] + readErrors),
        Route(method: "get", path: "/api/orgs/{org}/spend", summary: "Spend per agent on a day against the caps", role: .viewer,
              parameters: [orgParameter, query("day", .string("YYYY-MM-DD, UTC; today by default", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))],
              answers: [ok(SpendAnswer.self, "spend"), .error(400, "bad day")] + readErrors),
        Route(method: "post", path: "/api/orgs/{org}/query", summary: "Run the data query tool as staff would (the whole org)", role: .viewer,
              parameters: [orgParameter], body: Component(DataQueryBody.self),
              answers: [ok(DataQueryAnswer.self, "result"), .error(400, "bad query or body; field names the part at fault"),
                        .error(413, "body over 1 MiB")] + readErrors),
        Route(method: "post", path: "/api/orgs/{org}/chat", summary: "Ask your own agent (internal session, nothing delivered outside)",
              role: .operator, parameters: [orgParameter], body: Component(TextRequest.self), answers: [ok(OutcomeAnswer.self, "outcome")] + actErrors),
        Route(method: "get", path: "/api/orgs/{org}/events", summary: "Server-sent events of the org's new events", role: .viewer,
              parameters: [orgParameter, query("access_token", .string("the token, for an EventSource that cannot set headers")),
                           header("Last-Event-ID", .string("resume after this seq", pattern: "^[0-9]+$"))],
              answers: [Answer(status: 200, description: "event stream", content: .eventStream)] + readErrors),
    ]

    static func operation(_ route: Route) -> JSONValue {
        var op: [String: JSONValue] = ["summary": .string(route.summary)]
        if let role = route.role {
            op["description"] = .string("Needs a token of the org with role \(role.rawValue) or higher.")
            op["security"] = [["bearer": []]]
        }
        if !route.parameters.isEmpty { op["parameters"] = .array(route.parameters) }
        if let body = route.body {
            op["requestBody"] = ["required": .bool(!route.bodyOptional), "content": ["application/json": ["schema": reference(body.name)]]]
        }
        var answers: [String: JSONValue] = [:]
        for answer in route.answers {
            let content: JSONValue = switch answer.content {
            case .json(let type): ["application/json": ["schema": reference(type.schemaName)]]
            case .text(let contentType): .object([contentType: ["schema": ["type": "string"]]])
            case .eventStream: ["text/event-stream": ["schema": serverSentEvent.json]]
            }
            answers[String(answer.status)] = ["description": .string(answer.description), "content": content]
        }
        op["responses"] = .object(answers)
        return .object(op)
    }

    static func reference(_ name: String) -> JSONValue {
        .string("#/components/schemas/" + name).wrapped(in: "$ref")
    }

    /// Every body the routes name, by component name.
    static var components: [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for route in routes {
            var named: [Component] = route.body.map { [$0] } ?? []
            for answer in route.answers { if case .json(let type) = answer.content { named.append(Component(type)) } }
            for component in named {
                precondition(out[component.name].map { $0 == component.schema.json } ?? true,
                             "two different schemas are both named \(component.name)")
                out[component.name] = component.schema.json
            }
        }
        return out
    }

    static let document: JSONValue = {
        var paths: [String: [String: JSONValue]] = [:]
        for route in routes { paths[route.path, default: [:]][route.method] = operation(route) }
        return [
            "openapi": "3.0.3",
            "info": ["title": "Purser", "version": "1",
                     "description": "Each org's AI agent: sessions, approvals, takeover, activity, spend, data queries, live events, channel webhooks."],
            "paths": .object(paths.mapValues(JSONValue.object)),
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
                "schemas": .object(components),
            ],
        ]
    }()
}

extension JSONValue {
    /// `{key: self}`.
    fileprivate func wrapped(in key: String) -> JSONValue { .object([key: self]) }
}
