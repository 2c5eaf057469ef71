import AgentsProjection
import AuditProjection
import Foundation
import Hummingbird
import Pipeline
import PurserCore
import PurserDomain
import SessionsProjection
import SpendProjection
import Tools

/// Resolves the bearer token. Every `/api` request needs one; `/events` also takes it as
/// `?access_token=` because a browser's EventSource cannot set headers.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = PurserRequestContext
    let tokens: AccessTokenStore
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var secret: String?
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            secret = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if request.uri.path.hasSuffix("/events") {
            secret = request.uri.queryParameters.get("access_token")
        }
        guard let secret, !secret.isEmpty else {
            return Reply.error(.unauthorized, "unauthorized", "send the API token as `Authorization: Bearer <token>`; create one with `purser token create`")
        }
        guard let token = tokens.authenticate(secret) else {
            return Reply.error(.unauthorized, "unauthorized", "the token is not valid")
        }
        if let wait = limiter.take("org:" + token.org) {
            return Reply.tooManyRequests("too many requests for org \(token.org); retry after \(wait) s", retryAfter: wait)
        }
        var context = context
        context.token = token
        return try await next(request, context)
    }
}

/// The JSON API under `/api/orgs/{org}/` (docs/HTTP.md).
struct APIRoutes {
    let pipeline: Pipeline

    /// The caller's token if it is for `org` and has at least `role`; else the response to send.
    /// A token of another org gets 404, exactly as for an org that does not exist.
    func authorize(_ context: PurserRequestContext, _ role: Role) -> Result<(org: String, token: AccessToken), ResponseError> {
        guard let token = context.token else { return .failure(ResponseError(Reply.error(.unauthorized, "unauthorized", "no token"))) }
        guard let org = context.parameters.get("org"), org == token.org else {
            return .failure(ResponseError(Reply.error(.notFound, "not_found", "no such org")))
        }
        guard token.role >= role else {
            return .failure(ResponseError(Reply.error(.forbidden, "forbidden", "this needs the \(role.rawValue) role; the token has \(token.role.rawValue)")))
        }
        return .success((org, token))
    }

    func register(_ api: RouterGroup<PurserRequestContext>) {
        api.get("whoami") { _, context -> Response in
            guard let token = context.token else { return Reply.error(.unauthorized, "unauthorized", "no token") }
            return Reply.json(["org": .string(token.org), "role": .string(token.role.rawValue), "label": .string(token.label)])
        }
        let org = api.group("orgs/:org")
        org.get("agent") { _, context in try await handle(context, .viewer) { org, _ in try await getAgent(org) } }
        org.put("agent") { request, context in
            var request = request
            return try await handle(context, .admin) { org, token in try await putAgent(org, token, &request) }
        }
        org.get("sessions") { request, context in try await handle(context, .viewer) { org, _ in try await sessions(org, request) } }
        org.get("sessions/:id") { _, context in try await handle(context, .viewer) { org, _ in try await session(org, context.parameters.get("id") ?? "") } }
        org.post("sessions/:id/takeover") { _, context in
            try await handle(context, .operator) { org, token in
                outcome(try await pipeline.takeover(org: org, sessionId: context.parameters.get("id") ?? "", by: token.label))
            }
        }
        org.post("sessions/:id/release") { _, context in
            try await handle(context, .operator) { org, token in
                outcome(try await pipeline.release(org: org, sessionId: context.parameters.get("id") ?? "", by: token.label))
            }
        }
        org.post("sessions/:id/reply") { request, context in
            var request = request
            return try await handle(context, .operator) { org, token in
                let body = try await request.jsonBody()
                guard case .success(let json) = body else { return bad(body) }
                guard let text = json["text"]?.stringValue, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    return Reply.error(.badRequest, "invalid_body", "send {\"text\": \"...\"} with the reply to send")
                }
                return outcome(try await pipeline.humanReply(org: org, sessionId: context.parameters.get("id") ?? "", by: token.label, text: text))
            }
        }
        org.get("approvals") { request, context in try await handle(context, .viewer) { org, _ in try await approvals(org, request) } }
        org.post("approvals/:id/approve") { request, context in
            var request = request
            return try await handle(context, .operator) { org, token in
                let body = try await request.jsonBody()
                guard case .success(let json) = body else { return bad(body) }
                var edited: JSONValue?
                if let arguments = json["editedArguments"] {
                    guard case .object = arguments else {
                        return Reply.error(.badRequest, "invalid_body", "editedArguments must be a JSON object of the tool's arguments")
                    }
                    edited = arguments
                }
                if let text = json["editedText"], text.stringValue == nil {
                    return Reply.error(.badRequest, "invalid_body", "editedText must be a string")
                }
                return outcome(try await pipeline.approve(org: org, approvalId: context.parameters.get("id") ?? "", by: token.label,
                                                          editedArguments: edited, editedText: json["editedText"]?.stringValue))
            }
        }
        org.post("approvals/:id/reject") { request, context in
            var request = request
            return try await handle(context, .operator) { org, token in
                let body = try await request.jsonBody()
                guard case .success(let json) = body else { return bad(body) }
                if let reason = json["reason"], reason.stringValue == nil {
                    return Reply.error(.badRequest, "invalid_body", "reason must be a string")
                }
                return outcome(try await pipeline.reject(org: org, approvalId: context.parameters.get("id") ?? "", by: token.label,
                                                         reason: json["reason"]?.stringValue))
            }
        }
        org.get("activity") { request, context in try await handle(context, .viewer) { org, _ in try await activity(org, request) } }
        org.get("spend") { request, context in try await handle(context, .viewer) { org, _ in try await spend(org, request) } }
        org.post("query") { request, context in
            var request = request
            return try await handle(context, .viewer) { org, _ in
                let body = try await request.jsonBody()
                guard case .success(let json) = body else { return bad(body) }
                try await pipeline.refresh("crm")
                let result = DataQueryEngine(reader: try pipeline.readModels.crmDatabase()).execute(arguments: json, org: org, now: Timestamp.now())
                return Reply.json(result, status: result["error"] == nil ? .ok : .badRequest)
            }
        }
        org.post("chat") { request, context in
            var request = request
            return try await handle(context, .operator) { org, token in
                let body = try await request.jsonBody()
                guard case .success(let json) = body else { return bad(body) }
                guard let text = json["text"]?.stringValue, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    return Reply.error(.badRequest, "invalid_body", "send {\"text\": \"...\"} with the question for your agent")
                }
                guard let agent = pipeline.agents(org: org).first else {
                    return Reply.error(.notFound, "not_found", "org \(org) has no agent yet; configure one first")
                }
                let result = await pipeline.internalChat(org: org, agentId: agent.agentId, by: token.label, text: text)
                return Reply.json(result.json)
            }
        }
    }

    // MARK: - Handlers

    /// Runs `body` for an authorized caller and maps engine errors to statuses.
    func handle(_ context: PurserRequestContext, _ role: Role,
                _ body: (String, AccessToken) async throws -> Response) async throws -> Response {
        switch authorize(context, role) {
        case .failure(let error):
            return error.response
        case .success(let (org, token)):
            do {
                return try await body(org, token)
            } catch let error as PipelineError {
                return Self.response(for: error)
            } catch let error as HTTPError {
                throw error
            } catch {
                context.logger.error("request failed: \(error)")
                return Reply.error(.internalServerError, "internal", "the request failed on the server; it has been logged")
            }
        }
    }

    static func response(for error: PipelineError) -> Response {
        switch error.code {
        case .notFound: Reply.error(.notFound, error.code.rawValue, error.message)
        case .alreadyDecided: Reply.error(.conflict, error.code.rawValue, error.message)
        case .invalidState: Reply.error(.conflict, error.code.rawValue, error.message)
        case .invalidInput: Reply.error(.badRequest, error.code.rawValue, error.message)
        case .readModelFailed, .appendFailed: Reply.error(.serviceUnavailable, error.code.rawValue, error.message)
        }
    }

    func outcome(_ outcome: TurnOutcome) -> Response { Reply.json(outcome.json) }

    func bad(_ body: Result<JSONValue, HTTPBodyProblem>) -> Response {
        if case .failure(let problem) = body { return Reply.error(.badRequest, "invalid_body", problem.message) }
        return Reply.error(.badRequest, "invalid_body", "invalid body")
    }

    func getAgent(_ org: String) async throws -> Response {
        guard let agent = pipeline.agents(org: org).first else {
            return Reply.error(.notFound, "not_found", "org \(org) has no agent yet; PUT one")
        }
        try await pipeline.refresh(AgentsProjector.name)
        let history = try pipeline.readModels.read(AgentsProjector.name) { db in
            try AgentsQueries.history(db, org: org, agentId: agent.agentId)
        }
        return Reply.json([
            "agentId": .string(agent.agentId), "revision": .number(Double(agent.revision)), "status": .string(agent.status.rawValue),
            "config": try JSONValue(encoding: agent.config),
            "history": .array(history.map {
                ["revision": .number(Double($0.revision)), "seq": .number(Double($0.seq)), "configuredAt": .string($0.configuredAt),
                 "actor": .string($0.actor)]
            }),
        ])
    }

    func putAgent(_ org: String, _ token: AccessToken, _ request: inout Request) async throws -> Response {
        let bytes = try await request.bytes()
        let config: OrgAgentConfig
        do {
            var routing = pipeline.routingTable
            // The agent's own current bindings do not conflict with its new config.
            routing = routing.filter { $0.value.org != org }
            config = try OrgAgentConfig.load(Data(bytes), tools: ToolCatalog.standard.acceptedNames, routing: routing)
        } catch {
            return Reply.error(.badRequest, "invalid_config", error.message,
                               extra: ["problems": .array(error.problems.map { .string($0.description) })])
        }
        guard config.organizationId == org else {
            return Reply.error(.badRequest, "invalid_config", "organizationId must be \(org), the org of this URL",
                               extra: ["problems": .array([.string("organizationId: must be \(org)")])])
        }
        let revision = try await pipeline.configure(config, by: token.label)
        return Reply.json(["agentId": .string(config.agentId), "revision": .number(Double(revision))])
    }

    func sessions(_ org: String, _ request: Request) async throws -> Response {
        let status = request.uri.queryParameters.get("status")
        let channel = request.uri.queryParameters.get("channel")
        if let status, !["active", "handed_off", "closed"].contains(status) {
            return Reply.error(.badRequest, "invalid_query", "status must be active, handed_off or closed")
        }
        if let channel, Channel(rawValue: channel) == nil {
            return Reply.error(.badRequest, "invalid_query", "channel must be one of \(Channel.allNames)")
        }
        try await pipeline.refresh(SessionsProjector.name)
        let rows = try pipeline.readModels.read(SessionsProjector.name) { db -> [JSONValue] in
            try SessionsQueries.sessions(db, org: org, status: status).filter { channel == nil || $0.channel == channel }.map { row in
                let last = try SessionsQueries.transcript(db, org: org, session: row.sessionId, last: 1).first
                return Self.sessionJSON(row, lastMessage: last?.text)
            }
        }
        return Reply.json(["sessions": .array(rows)])
    }

    func session(_ org: String, _ id: String) async throws -> Response {
        try await pipeline.refresh(SessionsProjector.name)
        let found = try pipeline.readModels.read(SessionsProjector.name) { db -> JSONValue? in
            guard let row = try SessionsQueries.session(db, org: org, id: id) else { return nil }
            let lines = try SessionsQueries.transcript(db, org: org, session: id)
            return ["session": Self.sessionJSON(row, lastMessage: lines.last?.text),
                    "transcript": .array(lines.map {
                        ["seq": .number(Double($0.seq)), "ts": .string($0.ts), "direction": .string($0.direction),
                         "actor": .string("\($0.actorKind):\($0.actorId)"), "text": .string($0.text)]
                    })]
        }
        guard let found else { return Reply.error(.notFound, "not_found", "org \(org) has no session \(id)") }
        return Reply.json(found)
    }

    static func sessionJSON(_ row: SessionRecord, lastMessage: String?) -> JSONValue {
        func s(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
        return ["sessionId": .string(row.sessionId), "agentId": s(row.agentId), "channel": s(row.channel), "contact": s(row.externalContact),
                "crmContactId": s(row.crmContact), "status": .string(row.status), "handedOffTo": s(row.handedOffTo),
                "lastMessageAt": s(row.lastMessageAt), "messages": .number(Double(row.messageCount)), "tokens": .number(Double(row.tokensUsed)),
                "costUsd": .number(row.costUsd), "lastMessage": s(lastMessage), "internal": .bool(row.isInternal)]
    }

    func approvals(_ org: String, _ request: Request) async throws -> Response {
        let state = request.uri.queryParameters.get("state") ?? "pending"
        guard ["pending", "granted", "rejected", "expired", "all"].contains(state) else {
            return Reply.error(.badRequest, "invalid_query", "state must be pending, granted, rejected, expired or all")
        }
        try await pipeline.refresh(AuditProjector.name)
        let pending = Dictionary(pipeline.pendingApprovals(org: org).map { ($0.approvalId, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = try pipeline.readModels.read(AuditProjector.name) { db in
            try AuditQueries.approvals(db, org: org, state: state == "all" ? nil : state)
        }
        return Reply.json(["approvals": .array(rows.map { a in
            var fields: [String: JSONValue] = [
                "approvalId": .string(a.approvalId), "agentId": .string(a.agentId), "sessionId": a.sessionId.map(JSONValue.string) ?? .null,
                "kind": .string(a.kind), "tool": a.tool.map(JSONValue.string) ?? .null, "summary": .string(a.summary), "rule": .string(a.rule),
                "state": .string(a.state), "decidedBy": a.decidedBy.map(JSONValue.string) ?? .null, "requestedAt": .string(a.requestedAt),
                "expiresAt": .string(a.expiresAt),
            ]
            if let p = pending[a.approvalId] {
                fields["arguments"] = p.arguments ?? .null
                fields["replyText"] = p.replyText.map(JSONValue.string) ?? .null
                fields["category"] = p.category.map(JSONValue.string) ?? .null
            }
            return .object(fields)
        })])
    }

    func activity(_ org: String, _ request: Request) async throws -> Response {
        var limit = 50
        if let raw = request.uri.queryParameters.get("limit") {
            guard let value = Int(raw), (1...HTTPLimits.activityPageItemsMax).contains(value) else {
                return Reply.error(.badRequest, "invalid_query", "limit must be a whole number from 1 to \(HTTPLimits.activityPageItemsMax)")
            }
            limit = value
        }
        var before: UInt64?
        if let raw = request.uri.queryParameters.get("before") {
            guard let value = UInt64(raw), value >= 1 else { return Reply.error(.badRequest, "invalid_query", "before must be a seq number (1 or more)") }
            before = value
        }
        try await pipeline.refresh(AuditProjector.name)
        let lines = try pipeline.readModels.read(AuditProjector.name) { db in
            try AuditQueries.activityPage(db, org: org, before: before, limit: limit)
        }
        return Reply.json(["items": .array(lines.map {
            ["seq": .number(Double($0.seq)), "ts": .string($0.ts), "agentId": $0.agentId.map(JSONValue.string) ?? .null,
             "sessionId": $0.sessionId.map(JSONValue.string) ?? .null, "kind": .string($0.kind), "line": .string($0.line)]
        }), "next": lines.count == limit ? .number(Double(lines.last?.seq ?? 0)) : .null])
    }

    func spend(_ org: String, _ request: Request) async throws -> Response {
        let day = request.uri.queryParameters.get("day") ?? Timestamp.now().utcDay
        guard Timestamp(iso8601: day + "T00:00:00Z") != nil else {
            return Reply.error(.badRequest, "invalid_query", "day must be YYYY-MM-DD")
        }
        try await pipeline.refresh(SpendProjector.name)
        let rows = try pipeline.readModels.read(SpendProjector.name) { db in try SpendQueries.spend(db, org: org, day: day) }
        let agents = pipeline.agents(org: org)
        return Reply.json(["day": .string(day), "agents": .array(agents.map { agent in
            let row = rows.first { $0.agentId == agent.agentId }
            return ["agentId": .string(agent.agentId), "messages": .number(Double(row?.messages ?? 0)),
                    "maxMessagesPerDay": .number(Double(agent.config.customProperties.maxMessagesPerDay)),
                    "tokens": .number(Double(row?.tokens ?? 0)), "usd": .number(row?.usd ?? 0),
                    "maxCostPerDay": .number(agent.config.customProperties.maxCostPerDay)]
        })])
    }
}

/// A response to send instead of running the handler.
struct ResponseError: Error {
    let response: Response
    init(_ response: Response) { self.response = response }
}
