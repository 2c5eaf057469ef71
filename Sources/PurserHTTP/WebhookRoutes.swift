import Channels
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Pipeline
import PurserCore
import PurserDomain
import PurserRuntime

/// Where the webhook secrets come from: per org (the credentials store) or one for the server.
public struct WebhookSecrets: Sendable {
    /// The value of the credential a channel's webhook is signed with (`WebhookRoute.Verification
    /// .signature`'s `secretName`, e.g. `whatsapp_app_secret`), for the org a body routes to (nil
    /// org: the server-wide one).
    public var signingSecret: @Sendable (_ name: String, _ org: String?) -> String?
    /// The verify tokens accepted in a provider's subscription handshake (Meta's).
    public var whatsappVerifyTokens: @Sendable () -> [String]
    /// The public base URL a provider posts to (Twilio's signature covers the URL), e.g. `https://purser.example.org`.
    public var publicBaseURL: String?

    public init(signingSecret: @escaping @Sendable (String, String?) -> String?, whatsappVerifyTokens: @escaping @Sendable () -> [String],
                publicBaseURL: String? = nil) {
        self.signingSecret = signingSecret
        self.whatsappVerifyTokens = whatsappVerifyTokens
        self.publicBaseURL = publicBaseURL
    }

    /// The secrets of the two signed channels Purser has always had, by name.
    public init(whatsappAppSecret: @escaping @Sendable (String?) -> String?, whatsappVerifyTokens: @escaping @Sendable () -> [String],
                twilioAuthToken: @escaping @Sendable (String?) -> String?, publicBaseURL: String? = nil) {
        self.init(signingSecret: { name, org in
            switch name {
            case "whatsapp_app_secret": return whatsappAppSecret(org)
            case "twilio_auth_token": return twilioAuthToken(org)
            default: return nil
            }
        }, whatsappVerifyTokens: whatsappVerifyTokens, publicBaseURL: publicBaseURL)
    }

    /// Server-wide secrets from the environment: `PURSER_` + the credential's name in capitals
    /// (`PURSER_WHATSAPP_APP_SECRET`, `PURSER_TWILIO_AUTH_TOKEN`), `PURSER_WHATSAPP_VERIFY_TOKEN`
    /// and `PURSER_PUBLIC_URL`.
    public static func environment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> WebhookSecrets {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        let verify = value("PURSER_WHATSAPP_VERIFY_TOKEN")
        let set = env.filter { $0.key.hasPrefix("PURSER_") && !$0.value.isEmpty }
        return WebhookSecrets(signingSecret: { name, _ in set["PURSER_" + name.uppercased()] },
                              whatsappVerifyTokens: { verify.map { [$0] } ?? [] }, publicBaseURL: value("PURSER_PUBLIC_URL"))
    }

    /// Each org's own secrets from its credentials, else the server's from the environment.
    /// `orgs` lists the orgs whose verify tokens a handshake may match (those with routes).
    public init(orgSecrets: OrgSecrets, orgs: @escaping @Sendable () -> [String],
                environment env: [String: String] = ProcessInfo.processInfo.environment) {
        let server = WebhookSecrets.environment(env)
        self.init(signingSecret: { name, org in org.map { orgSecrets.value($0, name) } ?? server.signingSecret(name, nil) },
                  whatsappVerifyTokens: { server.whatsappVerifyTokens() + orgs().compactMap { orgSecrets.value($0, "whatsapp_verify_token") } },
                  publicBaseURL: server.publicBaseURL)
    }
}

/// The channel webhooks.
///
/// A signed body (WhatsApp, Twilio) belongs to the org whose secret signed it — all of it: the
/// body is parsed once, every message and status in it is routed by the org address it names,
/// and the signature is checked with the secret of the one org they all route to (or with the
/// server-wide secret, which the platform itself holds and which admits any org). A body whose
/// items route to more than one org, or to an org whose secret did not sign it, gets 401 and
/// nothing of it is stored. Exactly the items that were verified are processed.
///
/// Limits: verified posts count against their org's bucket; posts that fail verification and
/// the anonymous webchat count against their source address's bucket, so junk from one source
/// never starves anyone's signed traffic. A webhook is answered after its messages are durable.
struct WebhookRoutes {
    let pipeline: Pipeline
    let secrets: WebhookSecrets
    /// Per org, for verified traffic.
    let limiter: RateLimiter
    /// Per source address, for traffic nobody vouched for.
    let sourceLimiter: RateLimiter

    static let hmacs = HMACFunctions(
        sha256: { key, message in Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))) },
        sha1: { key, message in Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key))) })

    /// Where a signed body's items route: one org, or something no single org's secret may admit.
    enum Scope: Equatable {
        /// Every routable item goes to this org, and no item names an address nobody binds.
        case org(String)
        /// Items for several orgs, for an unbound address, or none that name an org address.
        case platformOnly
    }

    /// Registers every channel's webhook from `ChannelRegistry`.
    func register(_ router: Router<PurserRequestContext>) {
        for adapter in ChannelRegistry.adapters {
            guard let route = adapter.webhook else { continue }
            switch route.verification {
            case .signature(let header, let secretName):
                registerSigned(router, adapter: adapter, route: route, header: HTTPField.Name(header)!, secretName: secretName)
            case .visitorToken(let header):
                WebchatRoutes(pipeline: pipeline, limiter: limiter, sourceLimiter: sourceLimiter, channel: adapter.channel,
                              path: route.path, visitorTokenHeader: HTTPField.Name(header)!).register(router)
            }
        }
    }

    /// A channel's webhook operations for `/openapi.json`, from the same route data `register`
    /// serves, so a channel added to the registry is documented without an edit here.
    static func documented(_ adapter: any ChannelAdapter) -> [OpenAPIDocument.Route] {
        guard let route = adapter.webhook else { return [] }
        switch route.verification {
        case .signature(let header, _): return documentedSigned(route, header: header)
        case .visitorToken(let header): return WebchatRoutes.documented(route, tokenHeader: header)
        }
    }

    /// What `registerSigned` answers: the handshake's GET when the provider makes one, and the POST.
    static func documentedSigned(_ route: WebhookRoute, header: String) -> [OpenAPIDocument.Route] {
        typealias Document = OpenAPIDocument
        let path = "/" + route.path
        var routes: [Document.Route] = []
        if let handshake = route.handshake {
            routes.append(Document.Route(
                method: "get", path: path, summary: handshake.summary, role: nil,
                parameters: handshake.queryParameters.map { Document.query($0, .string()) },
                answers: [Document.Answer(status: 200, description: "the challenge", content: .text(contentType: "text/plain")),
                          .error(400, "not a handshake"), .error(403, "wrong verify token")]))
        }
        let refused: [Document.Answer] = route.refusal.map { [.error(400, $0)] } ?? []
        routes.append(Document.Route(
            method: route.method.rawValue.lowercased(), path: path, summary: "\(route.summary) (\(header) checked)", role: nil,
            body: route.body.map(Document.Component.init),
            answers: [Document.ok(WebhookAnswer.self, "outcomes, after the messages are durable")] + refused
                + [.error(401, "bad or missing signature"), .error(413, "body over 1 MiB"), .error(429, "rate limited"),
                   Document.Answer(status: 503, description: "not all stored; retry", content: .json(WebhookAnswer.self))]))
        return routes
    }

    /// A provider-signed webhook: the body is read once, routed, verified with the secret of the
    /// org it routes to (or the server's), then ingested.
    private func registerSigned(_ router: Router<PurserRequestContext>, adapter: any ChannelAdapter, route: WebhookRoute,
                                header: HTTPField.Name, secretName: String) {
        let path = RouterPath(route.path)
        let format = adapter.formats.first?.format.rawValue ?? adapter.channel.rawValue
        if route.handshake != nil {
            router.get(path) { request, _ -> Response in
                var query: [String: String] = [:]
                for (name, value) in request.uri.queryParameters where query[String(name)] == nil { query[String(name)] = String(value) }
                // The verify tokens may be read from files or the database: off the cooperative pool.
                let tokens = await BlockingIO.run { [secrets] in secrets.whatsappVerifyTokens() }
                switch adapter.answerHandshake(query: query, verifyTokens: tokens) {
                case .accept(let challenge)?: return Reply.text(challenge, contentType: "text/plain")
                case .forbidden(let reason)?: return Reply.error(.forbidden, "forbidden", reason)
                case .invalid(let reason)?: return Reply.error(.badRequest, "invalid_handshake", reason)
                case nil: return Reply.error(.notFound, "not_found", "this webhook has no handshake")
                }
            }
        }
        switch route.method {
        case .post:
            router.post(path) { request, context -> Response in
                var request = request
                let body = try await request.bytes()
                let items: [InboundOutcome]
                switch adapter.webhookItems(body: body) {
                case .success(let read): items = read
                case .failure(let refusal): return Reply.error(.badRequest, refusal.code, refusal.reason)
                }
                let table = pipeline.admin.routingTable
                let routed = Self.routes(of: items, table)
                let scope = Self.scope(of: routed)
                let signature = request.headers[header]
                let base = secrets.publicBaseURL ?? "http://\(request.head.authority ?? "localhost")"
                let signed = SignedRequest(body: body, url: base + request.uri.description, header: signature)
                // The secrets may be read from files or the database: looked up off the cooperative pool.
                let admitted = await BlockingIO.run { [self] in
                    admit(scope, platformSecret: secrets.signingSecret(secretName, nil),
                          orgSecret: { secrets.signingSecret(secretName, $0) },
                          verifies: { adapter.verifySignature(signed, secret: $0, hmac: Self.hmacs) })
                }
                guard let admitted else {
                    return refuseUnverified(context, channel: route.provider, scope: scope, hasHeader: signature != nil)
                }
                if let limited = limitVerified(admitted, routed: routed) { return limited }
                return await ingest(items, format: format, source: "webhook:\(format)", table: table)
            }
        }
    }

    /// The org an address on a channel is bound to, by the routing table in force.
    static func org(_ table: RoutingTable, _ channel: Channel, _ addresses: [String]) -> String? {
        for raw in addresses {
            if let address = try? AddressNormalizer.address(raw, on: channel),
               let ref = table[ChannelAddress(channel: channel, address: address)] { return ref.org }
        }
        return nil
    }

    /// The org each item routes to by the org address it names: a message by its recipients (in
    /// order, as the pipeline routes it), a status by the business address it went out from.
    /// `nil` for an item that names an org address nobody binds; items that name none (a
    /// rejection) are left out.
    static func routes(of items: [InboundOutcome], _ table: RoutingTable) -> [String?] {
        items.compactMap { item -> String?? in
            switch item {
            case .message(let message, _): return .some(org(table, message.channel, [message.to] + message.recipients))
            case .status(let status, _): return .some(status.businessAddress.flatMap { org(table, status.channel, [$0]) })
            case .rejected: return .none
            }
        }
    }

    static func scope(of routed: [String?]) -> Scope {
        guard let first = routed.first, let org = first, routed.allSatisfy({ $0 == org }) else { return .platformOnly }
        return .org(org)
    }

    /// Which orgs a verified body may touch: every org for the platform's own secret, else the one
    /// org whose secret signed it; nil when no secret that may admit the body verifies.
    func admit(_ scope: Scope, platformSecret: String?, orgSecret: (String?) -> String?, verifies: (String) -> Bool) -> Scope? {
        if let platformSecret, verifies(platformSecret) { return .platformOnly }
        if case .org(let org) = scope, let secret = orgSecret(org), verifies(secret) { return .org(org) }
        return nil
    }

    func refuseUnverified(_ context: PurserRequestContext, channel: String, scope: Scope, hasHeader: Bool) -> Response {
        if let wait = sourceLimiter.take("unverified:" + context.sourceKey) {
            return Reply.tooManyRequests("too many unverified \(channel) webhooks from your address; retry after \(wait) s", retryAfter: wait)
        }
        if !hasHeader { return Reply.error(.unauthorized, "bad_signature", "the \(channel) signature header is missing") }
        if case .platformOnly = scope {
            return Reply.error(.unauthorized, "bad_signature",
                               "the signature does not match; a body whose messages route to more than one org (or to no org) is accepted only with the server-wide secret")
        }
        return Reply.error(.unauthorized, "bad_signature", "the signature does not match the secret of the org this body is for")
    }

    /// Takes a token from each org the body touches.
    func limitVerified(_ admitted: Scope, routed: [String?]) -> Response? {
        let orgs: [String]
        switch admitted {
        case .org(let org): orgs = [org]
        case .platformOnly: orgs = Array(Set(routed.compactMap { $0 })).sorted()
        }
        for org in orgs.isEmpty ? ["_platform"] : orgs {
            if let wait = limiter.take("webhook:" + org) {
                return Reply.tooManyRequests("too many webhooks for org \(org); retry after \(wait) s", retryAfter: wait)
            }
        }
        return nil
    }

    /// Processes exactly the verified items; a status may touch only the org its business address
    /// routes to. The answer names what became of each item, never what an agent wrote.
    func ingest(_ items: [InboundOutcome], format: String, source: String, table: RoutingTable) async -> Response {
        let statusOrg: @Sendable (StatusUpdate) -> String? = { status in
            status.businessAddress.flatMap { Self.org(table, status.channel, [$0]) }
        }
        let collected = Locked<[TurnOutcome]>([])
        let summary = await Ingestor(pipeline: pipeline, inFlightMax: 64, statusOrg: statusOrg)
            .run(items: items, format: format, sourceName: source) { outcome in collected.withLock { $0.append(outcome) } }
        let answer = WebhookAnswer(outcomes: collected.withLock { $0 }.map(Self.receipt))
        // Not durable: the sender must retry (Meta and Twilio do on 5xx).
        return Reply.json(answer, status: summary.count(.failed) > 0 ? .serviceUnavailable : .ok)
    }

    /// What a channel is told about one item: its fate and the id it is stored under.
    static func receipt(_ outcome: TurnOutcome) -> WebhookAnswer.Receipt {
        WebhookAnswer.Receipt(outcome: outcome.kind.rawValue, source: outcome.source, messageId: outcome.messageId)
    }
}
