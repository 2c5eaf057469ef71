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
        // The token file is stat'ed (and read when it changed) off the cooperative pool.
        let tokens = self.tokens
        guard let token = try await ReadAPI.offPool({ tokens.authenticate(secret) }) else {
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

/// The JSON API under `/api/orgs/{org}/` (docs/HTTP.md). Handlers take and return the typed
/// bodies of `APIBodies.swift`; what goes wrong is thrown as `APIError` (or `PipelineError`,
/// mapped by `ErrorShapeMiddleware`) and answered as `ErrorBody`. Reads go through the engine's
/// async read API, off the cooperative thread pool.
struct APIRoutes {
    let pipeline: Pipeline

    /// The caller's org and token if the token is for `org` and has at least `role`.
    /// A token of another org gets 404, exactly as for an org that does not exist.
    func authorize(_ context: PurserRequestContext, _ role: Role) throws(APIError) -> (org: String, token: AccessToken) {
        guard let token = context.token else { throw APIError(.unauthorized, "unauthorized", "no token") }
        guard let org = context.parameters.get("org"), org == token.org else {
            throw APIError(.notFound, "not_found", "no such org")
        }
        guard token.role >= role else {
            throw APIError(.forbidden, "forbidden", "this needs the \(role.rawValue) role; the token has \(token.role.rawValue)")
        }
        return (org, token)
    }

    func register(_ api: RouterGroup<PurserRequestContext>) {
        api.get("whoami") { _, context -> WhoAmI in
            guard let token = context.token else { throw APIError(.unauthorized, "unauthorized", "no token") }
            return WhoAmI(org: token.org, role: token.role, label: token.label)
        }
        let org = api.group("orgs/:org")
        org.get("agent") { _, context in try await getAgent(try authorize(context, .viewer).org) }
        org.put("agent") { request, context in
            let (org, token) = try authorize(context, .admin)
            var request = request
            return try await putAgent(org, token, try await request.bytes())
        }
        org.get("sessions") { request, context in try await sessions(try authorize(context, .viewer).org, request) }
        org.get("sessions/:id") { _, context in
            try await session(try authorize(context, .viewer).org, try context.parameters.require("id"))
        }
        org.post("sessions/:id/takeover") { _, context in
            let (org, token) = try authorize(context, .operator)
            return OutcomeAnswer(try await pipeline.humans.takeover(org: org, sessionId: try context.parameters.require("id"), by: token.label))
        }
        org.post("sessions/:id/release") { _, context in
            let (org, token) = try authorize(context, .operator)
            return OutcomeAnswer(try await pipeline.humans.release(org: org, sessionId: try context.parameters.require("id"), by: token.label))
        }
        org.post("sessions/:id/reply") { request, context in
            let (org, token) = try authorize(context, .operator)
            let body = try await request.decode(as: TextRequest.self, context: context)
            guard !body.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw APIError(.badRequest, "invalid_body", "send {\"text\": \"...\"} with the reply to send")
            }
            return OutcomeAnswer(try await pipeline.humans.humanReply(org: org, sessionId: try context.parameters.require("id"), by: token.label, text: body.text))
        }
        org.get("approvals") { request, context in try await approvals(try authorize(context, .viewer).org, request) }
        org.post("approvals/:id/approve") { request, context in
            let (org, token) = try authorize(context, .operator)
            let body = try await request.decode(as: ApproveRequest.self, context: context)
            return OutcomeAnswer(try await pipeline.humans.approve(org: org, approvalId: try context.parameters.require("id"), by: token.label,
                                                            editedArguments: body.editedArguments.map(JSONValue.object), editedText: body.editedText))
        }
        org.post("approvals/:id/reject") { request, context in
            let (org, token) = try authorize(context, .operator)
            let body = try await request.decode(as: RejectRequest.self, context: context)
            return OutcomeAnswer(try await pipeline.humans.reject(org: org, approvalId: try context.parameters.require("id"), by: token.label, reason: body.reason))
        }
        org.get("activity") { request, context in try await activity(try authorize(context, .viewer).org, request) }
        org.get("spend") { request, context in try await spend(try authorize(context, .viewer).org, request) }
        org.post("query") { request, context in
            let org = try authorize(context, .viewer).org
            // The query language checks its own keys and values (and names the field at fault).
            let query = try await request.decode(as: [String: JSONValue].self, context: context)
            let result = try await pipeline.reads.dataQuery(org: org, arguments: .object(query))
            if case .object(let members) = result, case .object(let problem)? = members["error"] {
                throw APIError(.badRequest, problem["code"]?.stringValue ?? "invalid_query", problem["message"]?.stringValue ?? "invalid query",
                               field: problem["field"]?.stringValue)
            }
            do {
                return try result.decode(DataQueryAnswer.self)
            } catch {
                throw APIError(.internalServerError, "internal", "the query's result could not be read; it has been logged")
            }
        }
        org.post("chat") { request, context in
            let (org, token) = try authorize(context, .operator)
            let body = try await request.decode(as: TextRequest.self, context: context)
            guard !body.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw APIError(.badRequest, "invalid_body", "send {\"text\": \"...\"} with the question for your agent")
            }
            guard let agent = pipeline.admin.agents(org: org).first else {
                throw APIError(.notFound, "not_found", "org \(org) has no agent yet; configure one first")
            }
            return OutcomeAnswer(await pipeline.admin.internalChat(org: org, agentId: agent.agentId, by: token.label, text: body.text))
        }
    }

    // MARK: - Handlers

    func getAgent(_ org: String) async throws -> AgentAnswer {
        guard let agent = pipeline.admin.agents(org: org).first else {
            throw APIError(.notFound, "not_found", "org \(org) has no agent yet; PUT one")
        }
        let history = try await pipeline.reads.agentHistory(org: org, agentId: agent.agentId)
        return AgentAnswer(agentId: agent.agentId, revision: agent.revision, status: agent.status, config: agent.config,
                           history: history.map { .init(revision: $0.revision, seq: $0.seq, configuredAt: $0.configuredAt, actor: $0.actor) })
    }

    func putAgent(_ org: String, _ token: AccessToken, _ bytes: [UInt8]) async throws -> AgentRevisionAnswer {
        let config: OrgAgentConfig
        do {
            // The agent's own current bindings do not conflict with its new config.
            let routing = pipeline.admin.routingTable.filter { $0.value.org != org }
            config = try OrgAgentConfig.load(Data(bytes), tools: ToolCatalog.standard.acceptedNames, routing: routing)
        } catch {
            throw APIError(.badRequest, "invalid_config", error.message, problems: error.problems.map(\.description))
        }
        guard config.organizationId == org else {
            throw APIError(.badRequest, "invalid_config", "organizationId must be \(org), the org of this URL",
                           problems: ["organizationId: must be \(org)"])
        }
        let revision = try await pipeline.admin.configure(config, by: token.label)
        return AgentRevisionAnswer(agentId: config.agentId, revision: revision)
    }

    func sessions(_ org: String, _ request: Request) async throws -> SessionsAnswer {
        let status = request.uri.queryParameters.get("status")
        let channel = request.uri.queryParameters.get("channel")
        if let status, !["active", "handed_off", "closed"].contains(status) {
            throw APIError(.badRequest, "invalid_query", "status must be active, handed_off or closed")
        }
        if let channel, Channel(rawValue: channel) == nil {
            throw APIError(.badRequest, "invalid_query", "channel must be one of \(Channel.allNames)")
        }
        let rows = try await pipeline.reads.sessions(org: org, status: status, channel: channel)
        return SessionsAnswer(sessions: rows.map { SessionSummary($0.session, lastMessage: $0.lastMessage) })
    }

    func session(_ org: String, _ id: String) async throws -> SessionAnswer {
        guard let found = try await pipeline.reads.session(org: org, id: id) else {
            throw APIError(.notFound, "not_found", "org \(org) has no session \(id)")
        }
        return SessionAnswer(session: SessionSummary(found.session, lastMessage: found.transcript.last?.text),
                             transcript: found.transcript.map {
                                 .init(seq: $0.seq, ts: $0.ts, direction: $0.direction, actor: "\($0.actorKind):\($0.actorId)", text: $0.text)
                             })
    }

    func approvals(_ org: String, _ request: Request) async throws -> ApprovalsAnswer {
        let state = request.uri.queryParameters.get("state") ?? "pending"
        guard ["pending", "granted", "rejected", "expired", "all"].contains(state) else {
            throw APIError(.badRequest, "invalid_query", "state must be pending, granted, rejected, expired or all")
        }
        let rows = try await pipeline.reads.approvals(org: org, state: state == "all" ? nil : state)
        let pending = Dictionary(pipeline.humans.pendingApprovals(org: org).map { ($0.approvalId, $0) }, uniquingKeysWith: { a, _ in a })
        return ApprovalsAnswer(approvals: rows.map { a in
            let held = pending[a.approvalId]
            return .init(approvalId: a.approvalId, agentId: a.agentId, sessionId: a.sessionId, kind: a.kind, tool: a.tool, summary: a.summary,
                         rule: a.rule, state: a.state, decidedBy: a.decidedBy, requestedAt: a.requestedAt, expiresAt: a.expiresAt,
                         arguments: held?.arguments, replyText: held?.replyText, category: held?.category)
        })
    }

    func activity(_ org: String, _ request: Request) async throws -> ActivityAnswer {
        var limit = 50
        if let raw = request.uri.queryParameters.get("limit") {
            guard let value = Int(raw), (1...HTTPLimits.activityPageItemsMax).contains(value) else {
                throw APIError(.badRequest, "invalid_query", "limit must be a whole number from 1 to \(HTTPLimits.activityPageItemsMax)")
            }
            limit = value
        }
        var before: UInt64?
        if let raw = request.uri.queryParameters.get("before") {
            guard let value = UInt64(raw), value >= 1 else { throw APIError(.badRequest, "invalid_query", "before must be a seq number (1 or more)") }
            before = value
        }
        let lines = try await pipeline.reads.activity(org: org, before: before, limit: limit)
        return ActivityAnswer(items: lines.map { .init(seq: $0.seq, ts: $0.ts, agentId: $0.agentId, sessionId: $0.sessionId, kind: $0.kind, line: $0.line) },
                              next: lines.count == limit ? lines.last?.seq : nil)
    }

    func spend(_ org: String, _ request: Request) async throws -> SpendAnswer {
        let day = request.uri.queryParameters.get("day") ?? Timestamp.now().utcDay
        guard Timestamp(iso8601: day + "T00:00:00Z") != nil else {
            throw APIError(.badRequest, "invalid_query", "day must be YYYY-MM-DD")
        }
        let rows = try await pipeline.reads.spend(org: org, day: day)
        return SpendAnswer(day: day, agents: pipeline.admin.agents(org: org).map { agent in
            let row = rows.first { $0.agentId == agent.agentId }
            return .init(agentId: agent.agentId, messages: row?.messages ?? 0, maxMessagesPerDay: agent.config.customProperties.maxMessagesPerDay,
                         tokens: row?.tokens ?? 0, usd: row?.usd ?? 0, maxCostPerDay: agent.config.customProperties.maxCostPerDay)
        })
    }
}
