import Channels
import Foundation
import HTTPTypes
import Hummingbird
import Pipeline
import PurserDomain

/// The public webchat endpoint: anyone may write to a widget address some agent binds, so the
/// caller is trusted with nothing.
///
/// - Identity: a visitor's first message (without a token) gets a new visitor id and a random
///   token, returned once; only the token's hash is stored, in that message's `message.received`.
///   Later messages carry the token (`X-Visitor-Token` or `visitorToken` in the body) and join
///   the visitor's conversation. A `from` in the body is ignored: an id is not an identity, so
///   nobody can join another visitor's session (and reach their records through it).
/// - What comes back: only what was actually sent to the visitor. A held or drafted reply stays
///   internal; the caller gets `pending` and reads the reply later with `GET
///   /webhooks/webchat/messages` once a human has approved it.
/// - Limits: per source address (anonymous traffic) and per org.
struct WebchatRoutes {
    let pipeline: Pipeline
    let limiter: RateLimiter
    let sourceLimiter: RateLimiter
    /// The channel whose route this is (`webchat`), its path and the header carrying the token.
    let channel: Channel
    let path: String
    let visitorTokenHeader: HTTPField.Name

    /// The webchat's visitor-token header, as its adapter declares it.
    static let tokenHeader: HTTPField.Name = {
        guard case .visitorToken(let header)? = WebchatChannel().webhook?.verification, let name = HTTPField.Name(header) else {
            preconditionFailure("the webchat adapter declares no visitor-token header")
        }
        return name
    }()

    static let pendingNotice = "Thank you! Your message has been received; the reply will appear here shortly."

    /// What `register` answers, for `/openapi.json`: the path, the token header and the body are
    /// the adapter's.
    static func documented(_ route: WebhookRoute, tokenHeader: String) -> [OpenAPIDocument.Route] {
        typealias Document = OpenAPIDocument
        let path = "/" + route.path
        return [
            Document.Route(method: "post", path: path, summary: route.summary, role: nil,
                           parameters: [Document.header(tokenHeader, .string("the token the first answer returned"))],
                           body: route.body.map(Document.Component.init),
                           answers: [Document.ok(WebchatAnswer.self, "the outcome; the reply only if it was sent"), .error(400, "not a message"),
                                     .error(401, "unknown visitor token"), .error(404, "no agent serves the widget"), .error(413, "body over 1 MiB"),
                                     .error(429, "rate limited"), .error(503, "not stored; retry")]),
            Document.Route(method: "get", path: path + "/messages", summary: "What was sent to the visitor since a seq", role: nil,
                           parameters: [Document.query("after", .integer(minimum: 0)), Document.header(tokenHeader, .string("the visitor's token"))],
                           answers: [Document.ok(WebchatMessagesAnswer.self, "messages"), .error(400, "bad after"),
                                     .error(401, "no or unknown visitor token"), .error(429, "rate limited"),
                                     .error(503, "cannot be read now; retry")]),
        ]
    }

    func register(_ router: Router<PurserRequestContext>) {
        router.post(RouterPath(path)) { request, context -> Response in
            var request = request
            if let wait = sourceLimiter.take("webchat:" + context.sourceKey) {
                return Reply.tooManyRequests("too many webchat messages from your address; retry after \(wait) s", retryAfter: wait)
            }
            let body = try await request.bytes()
            return await post(body, tokenHeader: request.headers[visitorTokenHeader])
        }
        router.get(RouterPath(path + "/messages")) { request, context -> Response in
            if let wait = sourceLimiter.take("webchat:" + context.sourceKey) {
                return Reply.tooManyRequests("too many webchat requests from your address; retry after \(wait) s", retryAfter: wait)
            }
            guard let token = request.headers[visitorTokenHeader], !token.isEmpty else {
                return Reply.error(.unauthorized, "unauthorized", "send the visitor token you were given as X-Visitor-Token")
            }
            var after: UInt64 = 0
            if let raw = request.uri.queryParameters.get("after") {
                guard let value = UInt64(raw) else { return Reply.error(.badRequest, "invalid_query", "after must be a seq number (0 or more)") }
                after = value
            }
            do {
                guard let visitor = try await pipeline.webchatVisitor(token: token) else {
                    return Reply.error(.unauthorized, "unknown_visitor", "the visitor token is not known; start a new conversation without one")
                }
                let lines = try await pipeline.sentToVisitor(visitor, afterSeq: after, limit: HTTPLimits.webchatPollMessagesMax)
                return Reply.json(WebchatMessagesAnswer(visitorId: visitor.visitorId, messages: lines.map {
                    .init(seq: $0.seq, ts: $0.ts, text: $0.text)
                }))
            } catch {
                return Reply.error(.serviceUnavailable, "unavailable", "the conversation cannot be read right now; retry")
            }
        }
    }

    func post(_ body: [UInt8], tokenHeader: String?) async -> Response {
        func invalid(_ reason: String) async -> Response {
            // Kept like every input that is not a message, so nothing is lost, then refused.
            _ = await pipeline.recordRejected(
                MessageRejected(code: "invalid_message", reason: reason, source: "webhook:webchat", format: "webchat", channel: channel,
                                raw: Data(body.prefix(ChannelLimits.standard.rawBytesKeptMax))),
                source: "webhook:webchat")
            return Reply.error(.badRequest, "invalid_message", reason)
        }
        guard case .object(var fields)? = try? JSONValue(parsing: body) else {
            return await invalid("the body must be one JSON object: {\"to\": WIDGET, \"text\": TEXT} (and, after the first message, the visitorToken)")
        }
        var token = tokenHeader
        if let inBody = fields.removeValue(forKey: "visitorToken") {
            guard let text = inBody.stringValue else { return await invalid("visitorToken must be a string") }
            token = token ?? text
        }
        guard let rawTo = fields["to"]?.stringValue else { return await invalid("`to` (the widget address) is missing or not a string") }
        let to: String
        do {
            to = try AddressNormalizer.address(rawTo, on: channel)
        } catch {
            return await invalid("`to`: \(error.message)")
        }
        guard let ref = pipeline.admin.routingTable[ChannelAddress(channel: channel, address: to)] else {
            return Reply.error(.notFound, "unknown_widget", "no agent serves the webchat address \(to)")
        }

        // Who is writing: the visitor the token was issued to, or a new visitor.
        let visitorId: String
        var issued: (token: String, hash: String)?
        if let token, !token.isEmpty {
            let visitor: Pipeline.WebchatVisitor?
            do {
                visitor = try await pipeline.webchatVisitor(token: token)
            } catch {
                return Reply.error(.serviceUnavailable, "unavailable", "the visitor cannot be checked right now; retry")
            }
            guard let visitor else {
                return Reply.error(.unauthorized, "unknown_visitor", "the visitor token is not known; start a new conversation without one")
            }
            guard visitor.org == ref.org, visitor.orgAddress == to else {
                return Reply.error(.unauthorized, "unknown_visitor", "the visitor token belongs to another widget")
            }
            visitorId = visitor.visitorId
        } else {
            let fresh = Pipeline.newVisitor()
            visitorId = fresh.visitorId
            issued = (fresh.token, Pipeline.visitorTokenHash(fresh.token))
        }
        fields["from"] = .string(visitorId)
        fields["to"] = .string(to)

        let position = SourcePosition(source: "webhook:webchat", index: 1)
        let bytes = Array(JSONValue.object(fields).serialized().utf8)
        let item = NormalizedMessageParser.outcome(json: bytes, position: position, policy: .only(channel))
        guard case .message(let message, _) = item else {
            return await invalid(item.rejection?.reason ?? "not a webchat message")
        }
        var inbound: Inbound
        switch Inbound.from(message, source: "webhook:webchat", now: pipeline.clock()) {
        case .success(let value): inbound = value
        case .failure(let error): return await invalid(error.message)
        }
        inbound.visitorTokenHash = issued?.hash
        if issued != nil, let external = inbound.externalMessageId {
            inbound.orderingKeyOverride = "webchat-first|\(to)|\(external)"
        }
        if let wait = limiter.take("webhook:" + ref.org) {
            return Reply.tooManyRequests("too many webchat messages for this widget; retry after \(wait) s", retryAfter: wait)
        }

        let outcome = await pipeline.process(inbound)
        var receipt = WebchatAnswer.Receipt(messageId: outcome.messageId, outcome: "pending")
        var answer = WebchatAnswer(visitorId: visitorId, outcomes: [])
        switch outcome.kind {
        case .failed:
            return Reply.error(.serviceUnavailable, "retry", "the message could not be stored; send it again")
        case .duplicate:
            receipt.outcome = "duplicate"
        case .rejected:
            return Reply.error(.badRequest, "invalid_message", outcome.reason ?? "not a webchat message")
        case .unrouted:
            return Reply.error(.notFound, "unknown_widget", "no agent serves the webchat address \(to)")
        case .sent, .drafted, .held, .handedOff, .blocked:
            if outcome.replySent, let reply = outcome.reply {
                receipt.outcome = "sent"
                receipt.reply = reply
            } else {
                receipt.outcome = "pending"
                receipt.notice = Self.pendingNotice
            }
            // The token is valid from now on: its hash is durable with this message.
            answer.visitorToken = issued?.token
        }
        answer.outcomes = [receipt]
        return Reply.json(answer)
    }
}
