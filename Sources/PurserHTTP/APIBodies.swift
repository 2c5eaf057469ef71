import AgentsProjection
import AuditProjection
import Foundation
import Hummingbird
import Pipeline
import PurserDomain
import SessionsProjection
import SpendProjection
import Tools

// The request and response bodies of the HTTP API, each with its OpenAPI description.

// MARK: - Errors

/// The one error body: `{"error": {"code", "message", "field"?, "problems"?}}`.
struct ErrorBody: ResponseCodable, Sendable, OpenAPIDescribed {
    struct Detail: Codable, Sendable {
        /// A stable, snake_case code.
        var code: String
        /// What went wrong, for a person to act on.
        var message: String
        /// Where in the body or query the problem is (a data query's field).
        var field: String?
        /// Every problem found (an agent config).
        var problems: [String]?
    }

    var error: Detail

    static let schema = Schema.object(["error": .object([
        "code": .string("a stable snake_case code, e.g. not_found, invalid_body, rate_limited"),
        "message": .string("what went wrong, for a person to act on"),
        "field": .string("where in the body the problem is (a data query)"),
        "problems": .array(.string()),
    ], required: ["code", "message"])], required: ["error"])
}

/// An error a handler throws; the server answers it as `ErrorBody` with its status. It holds the
/// body's own `Detail`, so what is thrown and what is sent are one set of fields.
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var detail: ErrorBody.Detail

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, field: String? = nil, problems: [String]? = nil) {
        self.status = status
        detail = ErrorBody.Detail(code: code, message: message, field: field, problems: problems)
    }

    var body: ErrorBody { ErrorBody(error: detail) }

    func response(from request: Request, context: some RequestContext) throws -> Response { response }

    var response: Response { Reply.json(body, status: status) }

    /// The status and code an engine error is answered with.
    init(_ error: PipelineError) {
        let status: HTTPResponse.Status = switch error.code {
        case .notFound: .notFound
        case .alreadyDecided, .invalidState: .conflict
        case .invalidInput: .badRequest
        case .readModelFailed, .appendFailed: .serviceUnavailable
        }
        self.init(status, error.code.rawValue, error.message)
    }
}

// MARK: - Requests

/// `{"text": "…"}`: a human's reply, or a question for the org's own agent.
struct TextRequest: Codable, Sendable, OpenAPIDescribed {
    var text: String

    static let schema = Schema.object(["text": .string("the text; not blank", minLength: 1)], required: ["text"])
}

/// Approving, optionally edited: the tool call's arguments or the reply's text.
struct ApproveRequest: Codable, Sendable, OpenAPIDescribed {
    var editedArguments: [String: JSONValue]?
    var editedText: String?

    static let schema = Schema.object([
        "editedArguments": .openObject("the held tool call's arguments as they should run"),
        "editedText": .string("the held reply as it should be sent"),
    ], required: [])
}

/// Rejecting, optionally with the reason the agent is told.
struct RejectRequest: Codable, Sendable, OpenAPIDescribed {
    var reason: String?

    static let schema = Schema.object(["reason": .string("fed back to the agent")], required: [])
}

/// The `org_agent` document `PUT …/agent` takes (validated by the domain, every problem listed).
enum AgentConfigBody: OpenAPIDescribed {
    static let schemaName = "OrgAgentConfig"
    static let schema = Schema.openObject("the org_agent configuration (docs/INPUT-FORMATS.md)", properties: [
        "id": .string("an explicit agent id, when it differs from subtype"),
        "type": .string(enumeration: [OrgAgentConfig.objectType]),
        "subtype": .string("the agent's role within the org, e.g. primary"),
        "organizationId": .string("the org; must be the org of the URL"),
        "name": .string("the label people see"),
        "status": .string(enumeration: AgentStatus.allCases.map(\.rawValue)),
        "customProperties": .openObject("language, FAQ, tools, autonomy level, caps, channel bindings and the rest of the agent's settings"),
    ], required: ["type", "organizationId", "name", "customProperties"])
}

/// A data query (docs/QUERY-LANGUAGE.md), described by the tool's own argument schema.
enum DataQueryBody: OpenAPIDescribed {
    static let schemaName = "DataQuery"
    static var schema: Schema { Schema(ToolDefinition.dataQuery.parameters) }
}

// MARK: - Responses

struct HealthAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    var status: String
    /// The seq of the log's last event.
    var logHead: UInt64

    static let schema = Schema.object(["status": .string(enumeration: ["ok"]), "logHead": .integer("the seq of the log's last event", minimum: 0)],
                                      required: ["status", "logHead"])
}

struct ReadyAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    var status: String

    static let schema = Schema.object(["status": .string(enumeration: ["ready"])], required: ["status"])
}

struct WhoAmI: ResponseCodable, Sendable, OpenAPIDescribed {
    var org: String
    var role: Role
    var label: String

    static let schema = Schema.object(["org": .string(), "role": .string(enumeration: Role.allCases.map(\.rawValue)), "label": .string()],
                                      required: ["org", "role", "label"])
}

struct AgentAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    struct Revision: Codable, Sendable {
        var revision: Int
        var seq: UInt64
        var configuredAt: String
        var actor: String
    }

    var agentId: String
    var revision: Int
    var status: AgentStatus
    var config: OrgAgentConfig
    var history: [Revision]

    static let schema = Schema.object([
        "agentId": .string(), "revision": .integer(minimum: 1),
        "status": .string(enumeration: AgentStatus.allCases.map(\.rawValue)),
        "config": AgentConfigBody.schema,
        "history": .array(.object(["revision": .integer(minimum: 1), "seq": .integer(minimum: 1), "configuredAt": .string(),
                                   "actor": .string()], required: ["revision", "seq", "configuredAt", "actor"])),
    ], required: ["agentId", "revision", "status", "config", "history"])
}

struct AgentRevisionAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    var agentId: String
    var revision: Int

    static let schema = Schema.object(["agentId": .string(), "revision": .integer(minimum: 1)], required: ["agentId", "revision"])
}

/// One session as lists show it.
struct SessionSummary: Codable, Sendable {
    var sessionId: String
    @Nullable var agentId: String?
    @Nullable var channel: String?
    /// The customer's address on the channel.
    @Nullable var contact: String?
    @Nullable var crmContactId: String?
    var status: String
    @Nullable var handedOffTo: String?
    @Nullable var lastMessageAt: String?
    var messages: Int
    var tokens: Int
    var costUsd: Double
    @Nullable var lastMessage: String?
    var `internal`: Bool

    init(_ row: SessionRecord, lastMessage: String?) {
        sessionId = row.sessionId
        agentId = row.agentId
        channel = row.channel
        contact = row.externalContact
        crmContactId = row.crmContact
        status = row.status
        handedOffTo = row.handedOffTo
        lastMessageAt = row.lastMessageAt
        messages = row.messageCount
        tokens = row.tokensUsed
        costUsd = row.costUsd
        self.lastMessage = lastMessage
        `internal` = row.isInternal
    }

    static let schema = Schema.object([
        "sessionId": .string(), "agentId": Schema.string().nullable, "channel": Schema.string().nullable,
        "contact": Schema.string("the customer's address on the channel").nullable, "crmContactId": Schema.string().nullable,
        "status": .string(enumeration: ["active", "handed_off", "closed"]), "handedOffTo": Schema.string().nullable,
        "lastMessageAt": Schema.string().nullable, "messages": .integer(minimum: 0), "tokens": .integer(minimum: 0),
        "costUsd": .number(), "lastMessage": Schema.string().nullable, "internal": .boolean,
    ], required: ["sessionId", "agentId", "channel", "contact", "crmContactId", "status", "handedOffTo", "lastMessageAt",
                  "messages", "tokens", "costUsd", "lastMessage", "internal"])
}

struct SessionsAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    var sessions: [SessionSummary]

    static let schema = Schema.object(["sessions": .array(SessionSummary.schema)], required: ["sessions"])
}

struct SessionAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    struct Line: Codable, Sendable {
        var seq: UInt64
        var ts: String
        var direction: String
        /// `kind:id` of who wrote it.
        var actor: String
        var text: String
    }

    var session: SessionSummary
    var transcript: [Line]

    static let schema = Schema.object([
        "session": SessionSummary.schema,
        "transcript": .array(.object(["seq": .integer(minimum: 1), "ts": .string(), "direction": .string(enumeration: ["inbound", "outbound"]),
                                      "actor": .string("kind:id of who wrote it"), "text": .string()],
                                     required: ["seq", "ts", "direction", "actor", "text"])),
    ], required: ["session", "transcript"])
}

/// What became of a human's action or a message: a turn outcome, the fields that concern it.
struct OutcomeAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    var outcome: String
    var source: String?
    var org: String?
    var agentId: String?
    var sessionId: String?
    var messageId: String?
    var reply: String?
    var replyId: String?
    var approvalId: String?
    var reason: String?
    var replySent: Bool?

    init(_ outcome: TurnOutcome) {
        self.outcome = outcome.kind.rawValue
        source = outcome.source
        org = outcome.org
        agentId = outcome.agentId
        sessionId = outcome.sessionId
        messageId = outcome.messageId
        reply = outcome.reply
        replyId = outcome.replyId
        approvalId = outcome.approvalId
        reason = outcome.reason
        replySent = outcome.reply != nil ? outcome.replySent : nil
    }

    static let schema = Schema.object([
        "outcome": .string(enumeration: TurnOutcome.Kind.allCases.map(\.rawValue)), "source": .string(), "org": .string(),
        "agentId": .string(), "sessionId": .string(), "messageId": .string(), "reply": .string(), "replyId": .string(),
        "approvalId": .string(), "reason": .string(), "replySent": .boolean,
    ], required: ["outcome"])
}

struct ApprovalsAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    struct Item: Codable, Sendable {
        var approvalId: String
        var agentId: String
        @Nullable var sessionId: String?
        var kind: String
        @Nullable var tool: String?
        var summary: String
        var rule: String
        var state: String
        @Nullable var decidedBy: String?
        var requestedAt: String
        var expiresAt: String
        /// What waits, while it waits: the tool call's arguments, the held reply, the action category.
        @Nullable var arguments: JSONValue?
        @Nullable var replyText: String?
        @Nullable var category: String?
    }

    var approvals: [Item]

    static let schema = Schema.object(["approvals": .array(.object([
        "approvalId": .string(), "agentId": .string(), "sessionId": Schema.string().nullable,
        "kind": .string("what is held: a tool call or a reply"), "tool": Schema.string().nullable, "summary": .string(), "rule": .string(),
        "state": .string(enumeration: ["pending", "granted", "rejected", "expired"]), "decidedBy": Schema.string().nullable,
        "requestedAt": .string(), "expiresAt": .string(),
        "arguments": Schema.openObject("the held tool call's arguments; null unless pending with a tool call").nullable,
        "replyText": Schema.string("the held reply; null unless pending with a reply").nullable,
        "category": Schema.string("the tool call's action category; null unless pending").nullable,
    ], required: ["approvalId", "agentId", "sessionId", "kind", "tool", "summary", "rule", "state", "decidedBy", "requestedAt",
                  "expiresAt", "arguments", "replyText", "category"]))], required: ["approvals"])
}

struct ActivityAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    struct Item: Codable, Sendable {
        var seq: UInt64
        var ts: String
        @Nullable var agentId: String?
        @Nullable var sessionId: String?
        var kind: String
        /// The sentence the activity log shows.
        var line: String
    }

    var items: [Item]
    /// Pass as `before` for the next page; null on the last page.
    @Nullable var next: UInt64?

    static let schema = Schema.object([
        "items": .array(.object(["seq": .integer(minimum: 1), "ts": .string(), "agentId": Schema.string().nullable,
                                 "sessionId": Schema.string().nullable, "kind": .string(), "line": .string("the sentence the activity log shows")],
                                required: ["seq", "ts", "agentId", "sessionId", "kind", "line"])),
        "next": Schema.integer("pass as before for the next page; null on the last page", minimum: 1).nullable,
    ], required: ["items", "next"])
}

struct SpendAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    struct Agent: Codable, Sendable {
        var agentId: String
        var messages: Int
        var maxMessagesPerDay: Int
        var tokens: Int
        var usd: Double
        var maxCostPerDay: Double
    }

    var day: String
    var agents: [Agent]

    static let schema = Schema.object([
        "day": .string("YYYY-MM-DD, UTC", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
        "agents": .array(.object(["agentId": .string(), "messages": .integer(minimum: 0), "maxMessagesPerDay": .integer(minimum: 0),
                                  "tokens": .integer(minimum: 0), "usd": .number(), "maxCostPerDay": .number()],
                                 required: ["agentId", "messages", "maxMessagesPerDay", "tokens", "usd", "maxCostPerDay"])),
    ], required: ["day", "agents"])
}

/// A data query's result: a page of objects, the total, and an aggregate when asked for.
struct DataQueryAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    var items: [JSONValue]
    var total: Int
    var aggregate: JSONValue?
    var groups: [JSONValue]?
    var groupsTruncated: Bool?

    static let schemaName = "DataQueryResult"
    static let schema = Schema.object([
        "items": .array(.openObject("a CRM object: id, type, subtype, name, status, customProperties, createdAt, updatedAt; related objects under related",
                                    properties: ["id": .string(), "type": .string()], required: ["id", "type"])),
        "total": .integer("how many objects match", minimum: 0),
        "aggregate": .object(["type": .string(enumeration: ["count", "sum", "avg", "min", "max"]), "field": .string(), "groupBy": .string(),
                              "value": .anyValue("the aggregate's value (a number, or an instant for min/max of a date)")],
                             required: ["type"]),
        "groups": .array(.object(["key": .anyValue("the group's value of groupBy"), "value": .anyValue("the aggregate over the group"),
                                  "count": .integer(minimum: 0)], required: ["key", "value", "count"])),
        "groupsTruncated": .boolean,
    ], required: ["items", "total"])
}

// MARK: - Webhooks

/// A webhook's answer: what became of each item, never what an agent wrote.
struct WebhookAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    struct Receipt: Codable, Sendable {
        var outcome: String
        var source: String?
        var messageId: String?
    }

    var outcomes: [Receipt]

    static let schema = Schema.object(["outcomes": .array(.object([
        "outcome": .string(enumeration: TurnOutcome.Kind.allCases.map(\.rawValue)),
        "source": .string("the item's place in the body, e.g. webhook:whatsapp #1"), "messageId": .string("the id it is stored under"),
    ], required: ["outcome"]))], required: ["outcomes"])
}

/// The webchat's answer: the reply only if it was sent; the visitor token on the first message.
struct WebchatAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    struct Receipt: Codable, Sendable {
        @Nullable var messageId: String?
        var outcome: String
        var reply: String?
        var notice: String?
    }

    var visitorId: String
    /// Returned once, with the visitor's first message; only its hash is stored.
    var visitorToken: String?
    var outcomes: [Receipt]

    static let schema = Schema.object([
        "visitorId": .string(), "visitorToken": .string("returned once, with the first message; send it as X-Visitor-Token"),
        "outcomes": .array(.object([
            "messageId": Schema.string().nullable, "outcome": .string(enumeration: ["sent", "pending", "duplicate"]),
            "reply": .string("the reply, when it was sent"), "notice": .string("what to show while a human looks at the reply"),
        ], required: ["messageId", "outcome"])),
    ], required: ["visitorId", "outcomes"])
}

/// What was sent to a webchat visitor since a seq.
struct WebchatMessagesAnswer: ResponseCodable, Sendable, OpenAPIDescribed {
    struct Message: Codable, Sendable {
        var seq: UInt64
        var ts: String
        var text: String
    }

    var visitorId: String
    var messages: [Message]

    static let schema = Schema.object([
        "visitorId": .string(),
        "messages": .array(.object(["seq": .integer(minimum: 1), "ts": .string(), "text": .string()], required: ["seq", "ts", "text"])),
    ], required: ["visitorId", "messages"])
}
