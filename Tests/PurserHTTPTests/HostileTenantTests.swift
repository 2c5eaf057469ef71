import Crypto
import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Pipeline
import PurserDomain
@testable import PurserHTTP
import Testing

/// Org kite, holding its own valid secrets, tokens and agent, attacks org haff through every
/// webhook, route, id and body shape; nothing of haff may be read, written or answered. Each
/// test is named after what it guards.
@Suite("Hostile tenant: kite against haff")
struct HostileTenantTests {
    static let haffNumber = "972123456789"
    static let kiteNumber = "4930999999"
    static let haffSMS = "+14158141829"
    static let kiteSMS = "+14155550100"

    /// Per-org secrets, no server-wide ones: each org's secret admits its own bodies only.
    static let secrets = WebhookSecrets(
        whatsappAppSecret: { org in ["haff": "haff-app-secret", "kite": "kite-app-secret"][org ?? ""] },
        whatsappVerifyTokens: { [] },
        twilioAuthToken: { org in ["haff": "haff-twilio", "kite": "kite-twilio"][org ?? ""] },
        publicBaseURL: "https://purser.example.org")

    static func server(haffAutonomy: String = "supervised") async throws -> Server {
        let s = try await Server(haffAutonomy: haffAutonomy, kiteSMS: kiteSMS)
        s.customSecrets = secrets
        return s
    }

    static func sign(_ body: String, _ secret: String) -> HTTPFields {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return [.init("X-Hub-Signature-256")!: "sha256=" + mac.map { String(format: "%02x", $0) }.joined(), .contentType: "application/json"]
    }

    static func change(number: String, from: String = "491701111111", id: String, text: String = "Was kostet der SBF Binnen?") -> String {
        """
        {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"\(number)","phone_number_id":"1\(number)"},\
        "contacts":[{"profile":{"name":"Eve"},"wa_id":"\(from)"}],\
        "messages":[{"from":"\(from)","id":"\(id)","timestamp":"1732000000","type":"text","text":{"body":"\(text)"}}]}}
        """
    }

    static func statusChange(number: String, id: String) -> String {
        """
        {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"\(number)","phone_number_id":"1\(number)"},\
        "statuses":[{"id":"\(id)","status":"read","timestamp":"1732000000","recipient_id":"491701111111"}]}}
        """
    }

    static func whatsapp(_ changes: [String], extra: String = "") -> String {
        #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":["# + changes.joined(separator: ",") + "]" + extra + "}]}"
    }

    /// Nothing of the test reached haff's log (no message, no reply, no rejection kept for it).
    static func haffUntouched(_ s: Server) async throws {
        #expect(try await s.events(org: "haff", type: "message.received").isEmpty)
        #expect(try await s.events(org: "haff", type: "message.drafted").isEmpty)
        #expect(try await s.events(org: "haff", type: "message.sent").isEmpty)
    }

    // MARK: 1. A webhook body belongs to the org whose secret signed it — all of it.

    @Test(arguments: [true, false])
    func whatsAppBodySignedByKiteCannotCarryAChangeForHaff(kiteFirst: Bool) async throws {
        let s = try await Self.server()
        let kite = Self.change(number: Self.kiteNumber, id: "wamid.kite1"), haff = Self.change(number: Self.haffNumber, id: "wamid.forged1")
        let forged = Self.whatsapp(kiteFirst ? [kite, haff] : [haff, kite])
        try await s.app().test(.router) { client in
            let response = try await client.execute(uri: "/webhooks/whatsapp", method: .post, headers: Self.sign(forged, "kite-app-secret"), body: ByteBuffer(string: forged))
            #expect(response.status == .unauthorized)
            #expect(!String(buffer: response.body).contains("450"))
        }
        try await Self.haffUntouched(s)
        #expect(try await s.events(org: "kite", type: "message.received").isEmpty, "nothing of a refused body is stored")
    }

    @Test func strayMetadataNamingKiteDoesNotAdmitHaffsChange() async throws {
        let s = try await Self.server()
        let stray = #","metadata":{"display_phone_number":"\#(Self.kiteNumber)"}"#
        for forged in [Self.whatsapp([Self.change(number: Self.haffNumber, id: "wamid.forged2")], extra: stray),
                       #"{"metadata":{"display_phone_number":"\#(Self.kiteNumber)"},"# + String(Self.whatsapp([Self.change(number: Self.haffNumber, id: "wamid.forged3")]).dropFirst())] {
            try await s.app().test(.router) { client in
                let response = try await client.execute(uri: "/webhooks/whatsapp", method: .post, headers: Self.sign(forged, "kite-app-secret"), body: ByteBuffer(string: forged))
                #expect(response.status == .unauthorized)
            }
        }
        try await Self.haffUntouched(s)
    }

    @Test func kitesOwnSignedBodyIsProcessedAndItsAnswerCarriesNoAgentText() async throws {
        let s = try await Self.server()
        let own = Self.whatsapp([Self.change(number: Self.kiteNumber, id: "wamid.kite2")])
        try await s.app().test(.router) { client in
            let response = try await client.execute(uri: "/webhooks/whatsapp", method: .post, headers: Self.sign(own, "kite-app-secret"), body: ByteBuffer(string: own))
            #expect(response.status == .ok)
            let outcome = parse(response)["outcomes"]?[0]
            #expect(outcome?["outcome"]?.stringValue == "sent")
            #expect(outcome?["reply"] == nil && outcome?["sessionId"] == nil && outcome?["org"] == nil)
        }
        #expect(try await s.events(org: "kite", type: "message.received").count == 1)
        try await Self.haffUntouched(s)
    }

    @Test func haffsBodySignedWithKitesSecretIsRefused() async throws {
        let s = try await Self.server()
        let haffOnly = Self.whatsapp([Self.change(number: Self.haffNumber, id: "wamid.forged4")])
        let status = Self.whatsapp([Self.statusChange(number: Self.haffNumber, id: "wamid.out1")])
        try await s.app().test(.router) { client in
            for forged in [haffOnly, status] {
                let response = try await client.execute(uri: "/webhooks/whatsapp", method: .post, headers: Self.sign(forged, "kite-app-secret"), body: ByteBuffer(string: forged))
                #expect(response.status == .unauthorized)
            }
        }
        try await Self.haffUntouched(s)
        #expect(try await s.events(org: ReservedOrg.unrouted, type: "message.rejected").isEmpty)
    }

    static func twilioSignature(_ form: String, token: String) -> String {
        let params = form.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
        let signed = "https://purser.example.org/webhooks/twilio" + params.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        return Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(signed.utf8), using: SymmetricKey(data: Data(token.utf8)))).base64EncodedString()
    }

    static func twilioForm(to: String, sid: String) -> String {
        "MessageSid=\(sid)&AccountSid=AC1&From=%2B491701111111&To=\(to.replacingOccurrences(of: "+", with: "%2B"))&Body=Was+kostet+der+SBF+Binnen%3F&NumMedia=0"
    }

    @Test func twilioBodyWithASecondLineForHaffIsRefusedWhole() async throws {
        let s = try await Self.server()
        let kiteLine = Self.twilioForm(to: Self.kiteSMS, sid: "SMkite1"), haffLine = Self.twilioForm(to: Self.haffSMS, sid: "SMforged1")
        // Signed by kite over the one-form reading of the whole body (Twilio's algorithm).
        let forged = kiteLine + "\n" + haffLine
        let signature = Self.twilioSignature(forged.replacingOccurrences(of: "\n", with: "&"), token: "kite-twilio")
        try await s.app().test(.router) { client in
            let response = try await client.execute(uri: "/webhooks/twilio", method: .post,
                                                    headers: [.init("X-Twilio-Signature")!: signature, .contentType: "application/x-www-form-urlencoded"],
                                                    body: ByteBuffer(string: forged))
            #expect(response.status == .badRequest)
        }
        try await Self.haffUntouched(s)
        #expect(try await s.events(org: "kite", type: "message.received").isEmpty)
    }

    @Test func twilioFormForHaffSignedWithKitesTokenIsRefused() async throws {
        let s = try await Self.server()
        let haffForm = Self.twilioForm(to: Self.haffSMS, sid: "SMforged2"), kiteForm = Self.twilioForm(to: Self.kiteSMS, sid: "SMkite2")
        try await s.app().test(.router) { client in
            let forged = try await client.execute(uri: "/webhooks/twilio", method: .post,
                                                  headers: [.init("X-Twilio-Signature")!: Self.twilioSignature(haffForm, token: "kite-twilio"), .contentType: "application/x-www-form-urlencoded"],
                                                  body: ByteBuffer(string: haffForm))
            #expect(forged.status == .unauthorized)
            let own = try await client.execute(uri: "/webhooks/twilio", method: .post,
                                               headers: [.init("X-Twilio-Signature")!: Self.twilioSignature(kiteForm, token: "kite-twilio"), .contentType: "application/x-www-form-urlencoded"],
                                               body: ByteBuffer(string: kiteForm))
            #expect(own.status == .ok, "\(String(buffer: own.body))")
        }
        try await Self.haffUntouched(s)
        #expect(try await s.events(org: "kite", type: "message.received").count == 1)
    }

    // MARK: 2. Anonymous webchat callers see only what is sent to them.

    @Test func heldWebchatReplyNeverReachesTheAnonymousCaller() async throws {
        let s = try await Self.server(haffAutonomy: "supervised")
        try await s.app().test(.router) { client in
            let response = try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(webchatMessage))
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            #expect(!text.contains("450"), "the drafted FAQ answer leaked: \(text)")
            #expect(!text.contains("approvalId") && !text.contains("sessionId"))
            #expect(parse(response)["outcomes"]?[0]?["outcome"]?.stringValue == "pending")
            let token = try #require(parse(response)["visitorToken"]?.stringValue)
            // Polling shows nothing until a human approves.
            let before = parse(try await client.execute(uri: "/webhooks/webchat/messages", method: .get, headers: [WebchatRoutes.tokenHeader: token]))
            #expect(before["messages"]?.arrayValue?.isEmpty == true)
            let id = try #require(parse(try await client.execute(uri: "/api/orgs/haff/approvals", method: .get, headers: s.headers("haff", "viewer")))["approvals"]?[0]?["approvalId"]?.stringValue)
            #expect(try await client.execute(uri: "/api/orgs/haff/approvals/\(id)/approve", method: .post, headers: s.headers("haff", "operator"), body: body("{}")).status == .ok)
            let after = parse(try await client.execute(uri: "/webhooks/webchat/messages", method: .get, headers: [WebchatRoutes.tokenHeader: token]))
            #expect(after["messages"]?[0]?["text"]?.stringValue == "Der SBF Binnen kostet 450 €.")
            #expect(after["messages"]?.arrayValue?.count == 1)
            // A visitor of kite's widget, holding its own valid token, reads only kite's answer to it.
            let kite = parse(try await client.execute(uri: "/webhooks/webchat", method: .post,
                                                      body: body(#"{"to":"kite-web","text":"Was kostet der SBF Binnen?","externalMessageId":"web.kite"}"#)))
            let kiteToken = try #require(kite["visitorToken"]?.stringValue)
            let kiteRead = parse(try await client.execute(uri: "/webhooks/webchat/messages", method: .get, headers: [WebchatRoutes.tokenHeader: kiteToken]))
            #expect(kiteRead["messages"]?.arrayValue?.count == 1)
            #expect(kiteRead["visitorId"]?.stringValue == kite["visitorId"]?.stringValue)
            #expect(try await s.events(org: "kite", type: "message.sent").count == 1)
            // Bad input on the poll: a clear 4xx.
            #expect(try await client.execute(uri: "/webhooks/webchat/messages", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/webhooks/webchat/messages?after=-1", method: .get, headers: [WebchatRoutes.tokenHeader: token]).status == .badRequest)
            #expect(try await client.execute(uri: "/webhooks/webchat/messages", method: .get, headers: [WebchatRoutes.tokenHeader: "pvt_nope"]).status == .unauthorized)
        }
    }

    @Test func aVisitorIdWithoutItsTokenNeverJoinsAnExistingSession() async throws {
        let s = try await Self.server(haffAutonomy: "autonomous")
        try await s.app().test(.router) { client in
            let first = parse(try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(webchatMessage)))
            let visitor = try #require(first["visitorId"]?.stringValue)
            let token = try #require(first["visitorToken"]?.stringValue)
            // The attacker names the victim's visitor id (and the old-style id) without the token.
            for from in [visitor, "visitor-1"] {
                let forged = parse(try await client.execute(uri: "/webhooks/webchat", method: .post,
                                                            body: body(#"{"to":"haff-web","from":"\#(from)","text":"Meine Buchungen?","externalMessageId":"web.f.\#(from)"}"#)))
                #expect(forged["visitorId"]?.stringValue != visitor)
            }
            // A made-up token is refused; the real one joins.
            let fake = try await client.execute(uri: "/webhooks/webchat", method: .post, headers: [WebchatRoutes.tokenHeader: "pvt_guess"],
                                                body: body(#"{"to":"haff-web","text":"Hallo?","externalMessageId":"web.g"}"#))
            #expect(fake.status == .unauthorized)
            let again = parse(try await client.execute(uri: "/webhooks/webchat", method: .post, headers: [WebchatRoutes.tokenHeader: token],
                                                       body: body(#"{"to":"haff-web","text":"Hallo?","externalMessageId":"web.2"}"#)))
            #expect(again["visitorId"]?.stringValue == visitor)
            #expect(again["visitorToken"] == nil, "a token is issued once")
            // A token issued by haff's widget does not open kite's.
            let elsewhere = try await client.execute(uri: "/webhooks/webchat", method: .post, headers: [WebchatRoutes.tokenHeader: token],
                                                     body: body(#"{"to":"kite-web","text":"Hallo?","externalMessageId":"web.k"}"#))
            #expect(elsewhere.status == .unauthorized)
        }
        let sessions = try await s.events(org: "haff", type: "session.opened").compactMap { $0["data"]?["externalContactId"]?.stringValue }
        #expect(sessions.count == 3, "the victim's session and one per forged visitor: \(sessions)")
        #expect(Set(sessions).count == 3)
        #expect(try await s.events(org: "haff", type: "message.received").allSatisfy { ($0["data"]?["from"]?.stringValue ?? "").hasPrefix("wv_") })
    }

    @Test func webchatAddressesCompareCaseInsensitivelySoKiteCannotBindHaffsWidget() async throws {
        let s = try await Self.server()
        try await s.app().test(.router) { client in
            let current = parse(try await client.execute(uri: "/api/orgs/kite/agent", method: .get, headers: s.headers("kite", "viewer")))
            guard case .object(var fields)? = current["config"], case .object(var props)? = fields["customProperties"] else { Issue.record("no config"); return }
            props["channelBindings"] = [["channel": "webchat", "enabled": true, "address": "HAFF-WEB"]]
            fields["customProperties"] = .object(props)
            let response = try await client.execute(uri: "/api/orgs/kite/agent", method: .put, headers: s.headers("kite", "admin"),
                                                    body: body(JSONValue.object(fields).serialized()))
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains("already bound to another organization"))
            // And a message to the upper-case spelling reaches haff's widget, not a stranger's.
            let posted = parse(try await client.execute(uri: "/webhooks/webchat", method: .post,
                                                        body: body(#"{"to":"HAFF-WEB","text":"Was kostet der SBF Binnen?","externalMessageId":"web.case"}"#)))
            #expect(posted["outcomes"]?[0]?["outcome"]?.stringValue == "pending")
        }
        #expect(try await s.events(org: "haff", type: "message.received").count == 1)
    }

    // MARK: 3. Limits that a stranger cannot spend for everyone.

    @Test func unsignedJunkCannotRateLimitSignedWebhooks() async throws {
        let s = try await Self.server()
        try await s.app(sourceLimiter: RateLimiter(ratePerSecond: 0.001, burst: 20)).test(.router) { client in
            var limited = 0
            for i in 0..<400 {
                let response = try await client.execute(uri: "/webhooks/whatsapp", method: .post, body: ByteBuffer(string: "junk \(i)"))
                #expect(response.status == .unauthorized || response.status == .tooManyRequests)
                if response.status == .tooManyRequests { limited += 1 }
            }
            #expect(limited >= 300, "the junk's own source is limited")
            for (org, number, secret) in [("haff", Self.haffNumber, "haff-app-secret"), ("kite", Self.kiteNumber, "kite-app-secret")] {
                let signed = Self.whatsapp([Self.change(number: number, id: "wamid.after.\(org)")])
                let response = try await client.execute(uri: "/webhooks/whatsapp", method: .post, headers: Self.sign(signed, secret), body: ByteBuffer(string: signed))
                #expect(response.status == .ok, "\(org)'s signed webhook: \(response.status)")
            }
        }
    }

    @Test func eventStreamsPerTokenAreBounded() async throws {
        let s = try await Self.server()
        let token = try #require(s.secret["kite/viewer"])
        try await s.app().test(.live) { client in
            var open: [Int32] = []
            defer { for fd in open { close(fd) } }
            for _ in 0..<HTTPLimits.eventStreamsPerTokenMax {
                let (status, fd) = try RawHTTP.get(port: client.port!, path: "/api/orgs/kite/events?access_token=\(token)")
                #expect(status == 200)
                open.append(fd)
            }
            let (status, fd) = try RawHTTP.get(port: client.port!, path: "/api/orgs/kite/events?access_token=\(token)")
            close(fd)
            #expect(status == 429)
        }
    }

    // MARK: 4. Client input never yields a 5xx.

    @Test func oversizedAPIBodyGets413NotA500() async throws {
        let s = try await Self.server()
        try await s.app().test(.router) { client in
            let big = #"{"text":""# + String(repeating: "x", count: HTTPLimits.bodyBytesMax + 10) + #""}"#
            for (method, uri, role) in [(HTTPRequest.Method.put, "/api/orgs/haff/agent", "admin"), (.post, "/api/orgs/haff/chat", "operator"),
                                        (.post, "/api/orgs/haff/query", "viewer")] {
                let response = try await client.execute(uri: uri, method: method, headers: s.headers("haff", role), body: body(big))
                #expect(response.status == .contentTooLarge, "\(uri): \(response.status)")
            }
        }
    }

    @Test func controlCharactersInWebchatAddressesGet400NotRetry() async throws {
        let s = try await Self.server()
        try await s.app().test(.router) { client in
            for payload in [#"{"to":"haff-web","from":"visitor\u0000x","text":"Hallo","externalMessageId":"nul.1"}"#,
                            #"{"to":"haff\u0000web","text":"Hallo","externalMessageId":"nul.2"}"#,
                            #"{"to":"haff-web","text":"Hal\u0000lo","externalMessageId":"nul.3"}"#] {
                let response = try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(payload))
                #expect(response.status.code < 500, "\(payload): \(response.status) \(String(buffer: response.body))")
            }
        }
    }

    @Test(arguments: ["limit=100000", "limit=-1", "limit=NaN", "limit=0", "before=-5", "before=abc", "limit=1e3"])
    func queryParametersOutOfRangeGet400(query: String) async throws {
        let s = try await Self.server()
        try await s.app().test(.router) { client in
            let response = try await client.execute(uri: "/api/orgs/haff/activity?\(query)", method: .get, headers: s.headers("haff", "viewer"))
            #expect(response.status == .badRequest)
        }
    }

    // MARK: 5. Headers.

    @Test func dashboardIsServedWithASecurityPolicy() async throws {
        let s = try await Self.server()
        try await s.app().test(.router) { client in
            for path in ["/", "/app.js", "/api/orgs/haff/agent"] {
                let response = try await client.execute(uri: path, method: .get, headers: s.headers("haff", "viewer"))
                let csp = response.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "\(path): \(csp)")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            }
        }
    }

    @Test func tokenStoreRefusesBadOrgIdsAndCaseVariants() async throws {
        let s = try await Self.server()
        for bad in ["../x", "a b", "", "-x", String(repeating: "a", count: 65), "x/y"] {
            #expect(throws: HTTPServerError.self) { try s.tokens.create(org: bad, role: .viewer, label: "eve") }
        }
        #expect(throws: HTTPServerError.self) { try s.tokens.create(org: "HAFF", role: .admin, label: "eve") }
        #expect(throws: HTTPServerError.self) { try s.tokens.create(org: "Neu", role: .admin, label: "eve", knownOrgs: ["neu"]) }
        #expect(throws: Never.self) { try s.tokens.create(org: "haff", role: .viewer, label: "anna") }
    }

    // MARK: 6. A cap caps what goes out.

    @Test func aTrippedCapSendsNoNoticesOverWebchat() async throws {
        let s = try await Server(haffAutonomy: "autonomous", kiteSMS: Self.kiteSMS, haffMaxMessages: 3)
        try await s.app().test(.router) { client in
            for i in 0..<10 {
                let response = try await client.execute(uri: "/webhooks/webchat", method: .post,
                                                        body: body(#"{"to":"haff-web","text":"Was kostet der SBF Binnen?","externalMessageId":"cap.\#(i)"}"#))
                #expect(response.status == .ok)
            }
        }
        #expect(try await s.events(org: "haff", type: "message.sent").count == 3)
        #expect(try await s.events(org: "haff", type: "message.drafted").count == 7)
    }

    // MARK: 7. Reads across orgs.

    @Test func kitesTokensReachNothingOfHaff() async throws {
        let s = try await Self.server(haffAutonomy: "autonomous")
        try await s.app().test(.router) { client in
            _ = try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(webchatMessage))
            let session = try #require(parse(try await client.execute(uri: "/api/orgs/haff/sessions", method: .get, headers: s.headers("haff", "viewer")))["sessions"]?[0]?["sessionId"]?.stringValue)
            for role in ["viewer", "operator", "admin"] {
                let h = s.headers("kite", role)
                for (method, path) in [(HTTPRequest.Method.get, "/api/orgs/haff/sessions"), (.get, "/api/orgs/haff/sessions/\(session)"),
                                       (.post, "/api/orgs/haff/sessions/\(session)/takeover"), (.get, "/api/orgs/HAFF/agent"),
                                       (.get, "/api/orgs/haff%2F..%2Fkite/agent"), (.get, "/api/orgs/kite/sessions/\(session)"),
                                       (.post, "/api/orgs/kite/sessions/\(session)/takeover")] {
                    let response = try await client.execute(uri: path, method: method, headers: h, body: body("{}"))
                    // Kite's own paths may also refuse a viewer's action (403); haff's are never found.
                    let ownRefusal = path.hasPrefix("/api/orgs/kite/") && response.status == .forbidden
                    #expect(response.status == .notFound || ownRefusal, "\(role) \(method) \(path): \(response.status)")
                    #expect(!String(buffer: response.body).contains("450"))
                }
                let query = parse(try await client.execute(uri: "/api/orgs/kite/query", method: .post, headers: h,
                                                           body: body(#"{"objectType":"crm_contact"}"#)))
                #expect(query["total"]?.doubleValue == 0, "kite's query saw haff's contact: \(query.serialized())")
            }
            // The contact kite must not see is there: haff's own staff see it (on PostgreSQL, from the shared crm model).
            let own = parse(try await client.execute(uri: "/api/orgs/haff/query", method: .post, headers: s.headers("haff", "viewer"),
                                                     body: body(#"{"objectType":"crm_contact"}"#)))
            #expect(own["total"]?.doubleValue == 1, "haff's own query: \(own.serialized())")
        }
        #expect(try await s.events(org: "haff", type: "session.handed_off").isEmpty)
    }
}

/// A bare HTTP/1.1 GET over a socket, reading just the status line, so a test can hold a
/// streaming response open.
enum RawHTTP {
    struct Failure: Error { var message: String }

    static func get(port: Int, path: String) throws -> (status: Int, fd: Int32) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(message: "socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw Failure(message: "connect failed") }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 256)
        var received: [UInt8] = []
        while !received.contains(0x0A) {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            received += buffer[0..<n]
        }
        let line = String(decoding: received.prefix { $0 != 0x0A }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { close(fd); throw Failure(message: "no status line: \(line)") }
        return (status, fd)
    }
}
