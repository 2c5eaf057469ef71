import Channels
import Crypto
import Foundation
import Hummingbird
import Pipeline
import PurserDomain

/// Where the webhook secrets come from: per org (the credentials store) or one for the server.
public struct WebhookSecrets: Sendable {
    /// Meta's app secret that signs `X-Hub-Signature-256`, for the org a body routes to (nil org:
    /// the server-wide one).
    public var whatsappAppSecret: @Sendable (_ org: String?) -> String?
    /// The verify tokens accepted in Meta's subscription handshake.
    public var whatsappVerifyTokens: @Sendable () -> [String]
    /// Twilio's auth token that signs `X-Twilio-Signature`.
    public var twilioAuthToken: @Sendable (_ org: String?) -> String?
    /// The public base URL Twilio posts to (its signature covers the URL), e.g. `https://purser.example.org`.
    public var publicBaseURL: String?

    public init(whatsappAppSecret: @escaping @Sendable (String?) -> String?, whatsappVerifyTokens: @escaping @Sendable () -> [String],
                twilioAuthToken: @escaping @Sendable (String?) -> String?, publicBaseURL: String? = nil) {
        self.whatsappAppSecret = whatsappAppSecret
        self.whatsappVerifyTokens = whatsappVerifyTokens
        self.twilioAuthToken = twilioAuthToken
        self.publicBaseURL = publicBaseURL
    }

    /// Server-wide secrets from `PURSER_WHATSAPP_APP_SECRET`, `PURSER_WHATSAPP_VERIFY_TOKEN`,
    /// `PURSER_TWILIO_AUTH_TOKEN` and `PURSER_PUBLIC_URL`.
    public static func environment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> WebhookSecrets {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        let app = value("PURSER_WHATSAPP_APP_SECRET"), verify = value("PURSER_WHATSAPP_VERIFY_TOKEN"), twilio = value("PURSER_TWILIO_AUTH_TOKEN")
        return WebhookSecrets(whatsappAppSecret: { _ in app }, whatsappVerifyTokens: { verify.map { [$0] } ?? [] },
                              twilioAuthToken: { _ in twilio }, publicBaseURL: value("PURSER_PUBLIC_URL"))
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

    static func hmacSHA256(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    static func hmacSHA1(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Where a signed body's items route: one org, or something no single org's secret may admit.
    enum Scope: Equatable {
        /// Every routable item goes to this org, and no item names an address nobody binds.
        case org(String)
        /// Items for several orgs, for an unbound address, or none that name an org address.
        case platformOnly
    }

    func register(_ router: Router<PurserRequestContext>) {
        // Meta's subscription handshake: echo hub.challenge when hub.verify_token is ours.
        router.get("webhooks/whatsapp") { request, _ -> Response in
            let query = request.uri.queryParameters
            guard query.get("hub.mode") == "subscribe", let token = query.get("hub.verify_token"), let challenge = query.get("hub.challenge") else {
                return Reply.error(.badRequest, "invalid_handshake", "expected hub.mode=subscribe, hub.verify_token and hub.challenge")
            }
            guard secrets.whatsappVerifyTokens().contains(where: { WebhookSignature.constantTimeEquals(Array($0.utf8), Array(token.utf8)) }) else {
                return Reply.error(.forbidden, "forbidden", "the verify token does not match")
            }
            return Reply.text(challenge, contentType: "text/plain")
        }
        router.post("webhooks/whatsapp") { request, context -> Response in
            var request = request
            let body = try await request.bytes()
            let items = Self.read(Data(body), format: .whatsapp, source: "webhook:whatsapp")
            let table = pipeline.routingTable
            let routed = Self.routes(of: items, table)
            let scope = Self.scope(of: routed)
            let header = request.headers[.init("X-Hub-Signature-256")!]
            func verifies(_ secret: String) -> Bool {
                (try? WebhookSignature.verifyWhatsApp(body: Data(body), header: header, appSecret: secret, hmacSHA256: Self.hmacSHA256)) != nil
            }
            guard let admitted = admit(scope, platformSecret: secrets.whatsappAppSecret(nil), orgSecret: secrets.whatsappAppSecret,
                                       verifies: verifies) else {
                return refuseUnverified(context, channel: "WhatsApp", scope: scope, hasHeader: header != nil)
            }
            if let limited = limitVerified(admitted, routed: routed) { return limited }
            return await ingest(items, format: .whatsapp, source: "webhook:whatsapp", table: table)
        }
        router.post("webhooks/twilio") { request, context -> Response in
            var request = request
            var body = try await request.bytes()[...]
            while let last = body.last, last == 0x0A || last == 0x0D || last == 0x20 { body = body.dropLast() }
            // Twilio posts one form per request; a line break would make a second reading of the
            // same bytes (as lines) differ from the one that was signed.
            guard !body.contains(0x0A), !body.contains(0x0D) else {
                return Reply.error(.badRequest, "invalid_form", "a Twilio webhook carries one application/x-www-form-urlencoded form; this body has a line break")
            }
            let position = SourcePosition(source: "webhook:twilio", index: 1)
            let item = TwilioAdapter.outcome(formBody: Array(body), position: position)
            let parameters = TwilioAdapter.parseForm(body)
            let table = pipeline.routingTable
            let routed = Self.routes(of: [item], table)
            let scope = Self.scope(of: routed)
            let header = request.headers[.init("X-Twilio-Signature")!]
            let base = secrets.publicBaseURL ?? "http://\(request.head.authority ?? "localhost")"
            let url = base + request.uri.description
            func verifies(_ token: String) -> Bool {
                (try? WebhookSignature.verifyTwilio(url: url, parameters: parameters, header: header, authToken: token, hmacSHA1: Self.hmacSHA1)) != nil
            }
            guard let admitted = admit(scope, platformSecret: secrets.twilioAuthToken(nil), orgSecret: secrets.twilioAuthToken, verifies: verifies) else {
                return refuseUnverified(context, channel: "Twilio", scope: scope, hasHeader: header != nil)
            }
            if let limited = limitVerified(admitted, routed: routed) { return limited }
            return await ingest([item], format: .twilio, source: "webhook:twilio", table: table)
        }
        WebchatRoutes(pipeline: pipeline, limiter: limiter, sourceLimiter: sourceLimiter).register(router)
    }

    /// Reads a whole body into its items (bounded: the body is at most `HTTPLimits.bodyBytesMax`).
    static func read(_ body: Data, format: InputFormat, source: String) -> [InboundOutcome] {
        let reader = InboundReader(data: body, sourceName: source, format: format)
        var items: [InboundOutcome] = []
        while let item = try? reader.next() { items.append(item) }
        return items
    }

    /// The org an address on a channel is bound to, by the routing table in force.
    static func org(_ table: RoutingTable, _ channel: Channels.Channel, _ addresses: [String]) -> String? {
        guard let channel = PurserDomain.Channel(rawValue: channel.rawValue) else { return nil }
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
    func ingest(_ items: [InboundOutcome], format: InputFormat, source: String, table: RoutingTable) async -> Response {
        let statusOrg: @Sendable (StatusUpdate) -> String? = { status in
            status.businessAddress.flatMap { Self.org(table, status.channel, [$0]) }
        }
        let collected = Locked<[TurnOutcome]>([])
        let summary = await Ingestor(pipeline: pipeline, inFlightMax: 64, statusOrg: statusOrg)
            .run(items: items, format: format.rawValue, sourceName: source) { outcome in collected.withLock { $0.append(outcome) } }
        let answer = WebhookAnswer(outcomes: collected.withLock { $0 }.map(Self.receipt))
        // Not durable: the sender must retry (Meta and Twilio do on 5xx).
        return Reply.json(answer, status: summary.count(.failed) > 0 ? .serviceUnavailable : .ok)
    }

    /// What a channel is told about one item: its fate and the id it is stored under.
    static func receipt(_ outcome: TurnOutcome) -> WebhookAnswer.Receipt {
        WebhookAnswer.Receipt(outcome: outcome.kind.rawValue, source: outcome.source, messageId: outcome.messageId)
    }
}
