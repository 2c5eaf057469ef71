import Foundation
import PurserDomain

/// The OpenAPI 3.0 description of the HTTP API, served at `/openapi.json`.
enum OpenAPIDocument {
    static func operation(_ summary: String, role: String?, parameters: [JSONValue] = [], body: JSONValue? = nil,
                          responses: [String: String], produces: String = "application/json") -> JSONValue {
        var op: [String: JSONValue] = ["summary": .string(summary)]
        if let role { op["description"] = .string("Needs a token of the org with role \(role) or higher.") }
        if !parameters.isEmpty { op["parameters"] = .array(parameters) }
        if let body {
            op["requestBody"] = ["required": true, "content": ["application/json": ["schema": body]]]
        }
        var out: [String: JSONValue] = [:]
        for (code, description) in responses {
            var response: [String: JSONValue] = ["description": .string(description)]
            if code.hasPrefix("2") {
                response["content"] = .object([produces: ["schema": produces == "application/json" ? ["type": "object"] : ["type": "string"]]])
            } else {
                response["content"] = ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]
            }
            out[code] = .object(response)
        }
        op["responses"] = .object(out)
        if role != nil { op["security"] = [["bearer": []]] }
        return .object(op)
    }

    static let orgParameter: JSONValue = ["name": "org", "in": "path", "required": true, "schema": ["type": "string"]]
    static let idParameter: JSONValue = ["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]
    static func query(_ name: String, _ schema: JSONValue) -> JSONValue { ["name": .string(name), "in": "query", "required": false, "schema": schema] }

    static let readErrors = ["401": "no or bad token", "404": "no such org (or another org's) or object", "429": "rate limited"]
    static let actErrors = readErrors.merging(["400": "invalid body", "403": "role too low", "409": "already decided or wrong state"]) { a, _ in a }

    static func merged(_ a: [String: String], _ b: [String: String]) -> [String: String] { a.merging(b) { x, _ in x } }

    static let document: JSONValue = {
        let object: JSONValue = ["type": "object"]
        let paths: [String: JSONValue] = [
            "/api/whoami": ["get": operation("The token's org, role and label", role: "viewer", responses: merged(["200": "who"], readErrors))],
            "/api/tools": ToolRoutes.openAPIPath,
            "/api/orgs/{org}/agent": [
                "parameters": [orgParameter],
                "get": operation("The org's agent: config in force, status, version history", role: "viewer", responses: merged(["200": "agent"], readErrors)),
                "put": operation("Apply a new org_agent config (validated; every problem listed)", role: "admin", body: object,
                                 responses: merged(["200": "new revision"], actErrors)),
            ],
            "/api/orgs/{org}/sessions": [
                "parameters": [orgParameter],
                "get": operation("Sessions, newest activity first", role: "viewer",
                                 parameters: [query("status", ["type": "string", "enum": ["active", "handed_off", "closed"]]), query("channel", ["type": "string"])],
                                 responses: merged(["200": "sessions", "400": "bad filter"], readErrors)),
            ],
            "/api/orgs/{org}/sessions/{id}": ["parameters": [orgParameter, idParameter],
                                              "get": operation("A session and its transcript", role: "viewer", responses: merged(["200": "session"], readErrors))],
            "/api/orgs/{org}/sessions/{id}/takeover": ["parameters": [orgParameter, idParameter],
                                                       "post": operation("Take the session over; the agent stays silent", role: "operator", responses: merged(["200": "outcome"], actErrors))],
            "/api/orgs/{org}/sessions/{id}/reply": ["parameters": [orgParameter, idParameter],
                                                    "post": operation("Reply as a human (through the outbox)", role: "operator",
                                                                      body: ["type": "object", "required": ["text"], "properties": ["text": ["type": "string", "minLength": 1]]],
                                                                      responses: merged(["200": "outcome"], actErrors))],
            "/api/orgs/{org}/sessions/{id}/release": ["parameters": [orgParameter, idParameter],
                                                      "post": operation("Give the session back to the agent", role: "operator", responses: merged(["200": "outcome"], actErrors))],
            "/api/orgs/{org}/approvals": [
                "parameters": [orgParameter],
                "get": operation("Approvals, pending by default", role: "viewer",
                                 parameters: [query("state", ["type": "string", "enum": ["pending", "granted", "rejected", "expired", "all"]])],
                                 responses: merged(["200": "approvals", "400": "bad filter"], readErrors)),
            ],
            "/api/orgs/{org}/approvals/{id}/approve": ["parameters": [orgParameter, idParameter],
                                                       "post": operation("Approve, optionally edited; runs the held action and resumes the agent", role: "operator",
                                                                         body: ["type": "object", "properties": ["editedArguments": ["type": "object"], "editedText": ["type": "string"]]],
                                                                         responses: merged(["200": "outcome"], actErrors))],
            "/api/orgs/{org}/approvals/{id}/reject": ["parameters": [orgParameter, idParameter],
                                                      "post": operation("Reject; the reason is fed back to the agent", role: "operator",
                                                                        body: ["type": "object", "properties": ["reason": ["type": "string"]]],
                                                                        responses: merged(["200": "outcome"], actErrors))],
            "/api/orgs/{org}/activity": [
                "parameters": [orgParameter],
                "get": operation("The activity log, newest first, paged", role: "viewer",
                                 parameters: [query("limit", ["type": "integer", "minimum": 1, "maximum": 200]), query("before", ["type": "integer", "minimum": 0])],
                                 responses: merged(["200": "a page", "400": "bad paging"], readErrors)),
            ],
            "/api/orgs/{org}/spend": [
                "parameters": [orgParameter],
                "get": operation("Spend per agent on a day against the caps", role: "viewer",
                                 parameters: [query("day", ["type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"])],
                                 responses: merged(["200": "spend", "400": "bad day"], readErrors)),
            ],
            "/api/orgs/{org}/query": ["parameters": [orgParameter],
                                      "post": operation("Run the data query tool as the agent would", role: "viewer", body: object,
                                                        responses: merged(["200": "result", "400": "bad query or body"], readErrors))],
            "/api/orgs/{org}/chat": ["parameters": [orgParameter],
                                     "post": operation("Ask your own agent (internal session, nothing delivered outside)", role: "operator",
                                                       body: ["type": "object", "required": ["text"], "properties": ["text": ["type": "string", "minLength": 1]]],
                                                       responses: merged(["200": "outcome"], actErrors))],
            "/api/orgs/{org}/events": ["parameters": [orgParameter, query("access_token", ["type": "string"])],
                                       "get": operation("Server-sent events of the org's new events", role: "viewer",
                                                        responses: merged(["200": "event stream"], readErrors), produces: "text/event-stream")],
            "/webhooks/whatsapp": [
                "get": operation("Meta's subscription handshake", role: nil,
                                 parameters: [query("hub.mode", ["type": "string"]), query("hub.verify_token", ["type": "string"]), query("hub.challenge", ["type": "string"])],
                                 responses: ["200": "the challenge", "400": "not a handshake", "403": "wrong verify token"], produces: "text/plain"),
                "post": operation("WhatsApp Cloud API webhook (X-Hub-Signature-256 checked)", role: nil, body: object,
                                  responses: ["200": "outcomes, after the messages are durable", "401": "bad or missing signature", "429": "rate limited", "503": "not stored; retry"]),
            ],
            "/webhooks/twilio": ["post": operation("Twilio webhook, form encoded (X-Twilio-Signature checked)", role: nil,
                                                   responses: ["200": "outcomes", "401": "bad or missing signature", "429": "rate limited", "503": "not stored; retry"])],
            "/webhooks/webchat": ["post": operation("Webchat message (the inbound message JSON with channel webchat)", role: nil, body: object,
                                                    responses: ["200": "outcomes", "400": "not a message", "429": "rate limited", "503": "not stored; retry"])],
        ]
        return [
            "openapi": "3.0.3",
            "info": ["title": "Purser", "version": "1", "description": "Each org's AI agent: sessions, approvals, takeover, activity, spend, data queries, live events, channel webhooks."],
            "paths": .object(paths),
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
                "schemas": ["Error": ["type": "object", "required": ["error"],
                                      "properties": ["error": ["type": "object", "required": ["code", "message"],
                                                               "properties": ["code": ["type": "string"], "message": ["type": "string"]]]]]],
            ],
        ]
    }()
}
