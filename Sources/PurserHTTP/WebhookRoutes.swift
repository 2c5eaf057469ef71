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

/// The channel webhooks. A body is processed only when its signature checks out, and answered
/// only after its messages are durable in the log (the response carries the outcomes).
struct WebhookRoutes {
    let pipeline: Pipeline
    let secrets: WebhookSecrets
    let limiter: RateLimiter

    static func hmacSHA256(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    static func hmacSHA1(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
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
        router.post("webhooks/whatsapp") { request, _ -> Response in
            var request = request
            if let limited = limit("whatsapp") { return limited }
            let body = Data(try await request.bytes())
            let orgs = routedOrgs(body, format: .whatsapp)
            let secretsToTry = (orgs.isEmpty ? [nil] : orgs.map { Optional($0) }).compactMap { secrets.whatsappAppSecret($0) }
                + [secrets.whatsappAppSecret(nil)].compactMap { $0 }
            guard !secretsToTry.isEmpty else {
                return Reply.error(.unauthorized, "unauthorized", "no WhatsApp app secret is configured for this number; set whatsapp_app_secret with `purser credentials set` or PURSER_WHATSAPP_APP_SECRET")
            }
            var lastError = "the signature does not match"
            for secret in secretsToTry {
                do {
                    try WebhookSignature.verifyWhatsApp(body: body, header: request.headers[.init("X-Hub-Signature-256")!],
                                                        appSecret: secret, hmacSHA256: Self.hmacSHA256)
                    return await ingest(body, format: .whatsapp, source: "webhook:whatsapp")
                } catch {
                    lastError = (error as? ChannelError)?.message ?? "\(error)"
                }
            }
            return Reply.error(.unauthorized, "bad_signature", lastError)
        }
        router.post("webhooks/twilio") { request, _ -> Response in
            var request = request
            if let limited = limit("twilio") { return limited }
            let body = Data(try await request.bytes())
            let parameters = TwilioAdapter.parseForm(Array(body))
            let orgs = routedOrgs(body, format: .twilio)
            let tokens = orgs.compactMap { secrets.twilioAuthToken($0) } + [secrets.twilioAuthToken(nil)].compactMap { $0 }
            guard !tokens.isEmpty else {
                return Reply.error(.unauthorized, "unauthorized", "no Twilio auth token is configured; set twilio_auth_token with `purser credentials set` or PURSER_TWILIO_AUTH_TOKEN")
            }
            let base = secrets.publicBaseURL ?? "http://\(request.head.authority ?? "localhost")"
            let url = base + request.uri.description
            var lastError = "the signature does not match"
            for token in tokens {
                do {
                    try WebhookSignature.verifyTwilio(url: url, parameters: parameters, header: request.headers[.init("X-Twilio-Signature")!],
                                                      authToken: token, hmacSHA1: Self.hmacSHA1)
                    return await ingest(body, format: .twilio, source: "webhook:twilio")
                } catch {
                    lastError = (error as? ChannelError)?.message ?? "\(error)"
                }
            }
            return Reply.error(.unauthorized, "bad_signature", lastError)
        }
        // The webchat widget posts the inbound message JSON (channel webchat); it is public, so it
        // is rate limited, and it can only reach an address some agent binds for webchat.
        router.post("webhooks/webchat") { request, _ -> Response in
            var request = request
            if let limited = limit("webchat") { return limited }
            let body = Data(try await request.bytes())
            return await ingest(body, format: .webchat, source: "webhook:webchat")
        }
    }

    func limit(_ channel: String) -> Response? {
        guard let wait = limiter.take("webhook:" + channel) else { return nil }
        var response = Reply.error(.tooManyRequests, "rate_limited", "too many \(channel) webhooks; retry after \(wait) s")
        response.headers[.retryAfter] = String(wait)
        return response
    }

    /// The orgs a body's messages route to, to pick whose secret must have signed it.
    func routedOrgs(_ body: Data, format: InputFormat) -> [String] {
        let routes = pipeline.routingTable
        var orgs: [String] = []
        // WhatsApp names the receiving business number in every change, statuses included.
        if format == .whatsapp, let json = try? JSONValue(parsing: body) {
            for number in Self.displayNumbers(in: json) {
                if let address = try? AddressNormalizer.address(number, on: .whatsapp),
                   let ref = routes[ChannelAddress(channel: .whatsapp, address: address)], !orgs.contains(ref.org) {
                    orgs.append(ref.org)
                }
            }
        }
        let reader = InboundReader(data: body, sourceName: "webhook", format: format)
        while let outcome = try? reader.next() {
            guard let message = outcome.message, let channel = PurserDomain.Channel(rawValue: message.channel.rawValue) else { continue }
            for raw in [message.to] + message.recipients {
                guard let address = try? AddressNormalizer.address(raw, on: channel),
                      let ref = routes[ChannelAddress(channel: channel, address: address)] else { continue }
                if !orgs.contains(ref.org) { orgs.append(ref.org) }
            }
        }
        return orgs
    }

    /// Every `metadata.display_phone_number` in a WhatsApp body (or an object of bodies).
    static func displayNumbers(in value: JSONValue, depth: Int = 0) -> [String] {
        guard depth < 12 else { return [] }
        switch value {
        case .object(let fields):
            var found: [String] = []
            if let number = fields["metadata"]?["display_phone_number"]?.stringValue { found.append(number) }
            for (_, child) in fields { found += displayNumbers(in: child, depth: depth + 1) }
            return found
        case .array(let items):
            return items.flatMap { displayNumbers(in: $0, depth: depth + 1) }
        default:
            return []
        }
    }

    func ingest(_ body: Data, format: InputFormat, source: String) async -> Response {
        let reader = InboundReader(data: body, sourceName: source, format: format)
        let collected = Locked<[TurnOutcome]>([])
        let summary = await Ingestor(pipeline: pipeline, inFlightMax: 64).run(reader) { outcome in collected.withLock { $0.append(outcome) } }
        let outcomes = collected.withLock { $0 }
        if summary.count(.failed) > 0 {
            // Not durable: the sender must retry (Meta and Twilio do on 5xx).
            return Reply.json(["outcomes": .array(outcomes.map(\.json))], status: .serviceUnavailable)
        }
        let onlyRejected = !outcomes.isEmpty && outcomes.allSatisfy { $0.kind == .rejected }
        // A body that holds nothing usable is a client error for webchat; Meta's status-only
        // bodies are normal, acknowledged with 200 (they are kept as message.rejected).
        let status: HTTPResponse.Status = onlyRejected && format == .webchat ? .badRequest : .ok
        return Reply.json(["outcomes": .array(outcomes.map(\.json))], status: status)
    }
}
