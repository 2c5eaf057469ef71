import Crypto
import EventLog
import EventStore
import Foundation
import Hummingbird
import HummingbirdTesting
import LLM
import Logging
import Pipeline
import PostgresReadModels
import PostgresStore
import PostgresTestSupport
import Prometheus
import PurserDomain
@testable import PurserHTTP
import PurserTestSupport
import Testing
import Tools

let testLogger: Logger = {
    var logger = Logger(label: "purser.http.tests")
    logger.logLevel = .warning
    return logger
}()

/// The store the servers under test run on: the embedded log, or with `PURSER_TEST_STORE=postgres`
/// a fresh PostgreSQL database per server (CI runs the HTTP suites once each way).
enum TestStore {
    static let postgres = ProcessInfo.processInfo.environment["PURSER_TEST_STORE"] == "postgres"
}

/// A data directory with two orgs (haff supervised, kite autonomous), tokens of every role, and a
/// server router over an offline engine, on the test store.
final class Server: @unchecked Sendable {
    let directory = TempDir(prefix: "purser-http")
    var path: String { directory.path }
    /// The embedded log, when that is the store.
    let log: EventLog?
    let store: any EventStore
    /// The crm model kept in PostgreSQL, when that is the store.
    /// The models the runtime keeps in PostgreSQL (empty on the embedded store).
    let databaseModels: [PostgresReadModel]
    private(set) var pipeline: Pipeline!
    let tokens: AccessTokenStore
    var secret: [String: String] = [:]  // "org/role" → token
    static let appSecret = "test-app-secret"
    static let twilioToken = "test-twilio-token"

    /// The engine's counters, shown at /metrics.
    let metrics = PrometheusCollectorRegistry()

    /// Secrets the server checks webhooks with (default: `defaultSecrets`).
    var customSecrets: WebhookSecrets?

    init(haffAutonomy: String = "supervised", kiteSMS: String? = nil, haffMaxMessages: Int = 100) async throws {
        if TestStore.postgres {
            let postgres = try await PostgresEventStore.open(url: try await TestDatabase.create(), connectionsMax: 4, logger: testLogger)
            store = postgres
            // The agent's and staff's queries on the crm model in PostgreSQL, and the caps on its
            // spend model, as the runtime sets them up there.
            databaseModels = PostgresReadModelCatalog.projectors.map { PostgresReadModel(projector: $0, store: postgres, logger: testLogger) }
            log = nil
        } else {
            let opened = try EventLog.open(directory: directory.logDirectory)
            store = EmbeddedEventStore(writer: opened)
            log = opened
            databaseModels = []
        }
        var drafts: [EventDraft] = []
        for (org, address, autonomy, web) in [("haff", "+972123456789", haffAutonomy, "haff-web"), ("kite", "+4930999999", "autonomous", "kite-web")] {
            let json = """
            {"type":"org_agent","subtype":"primary","organizationId":"\(org)","name":"\(org) agent","status":"active",
             "customProperties":{"language":"de","faqEntries":[{"q":"Was kostet der SBF Binnen?","a":"Der SBF Binnen kostet 450 €."}],
             "enabledTools":["data_query_tool"],"autonomyLevel":"\(autonomy)","maxMessagesPerDay":\(org == "haff" ? haffMaxMessages : 100),"maxCostPerDay":5,
             "channelBindings":[{"channel":"whatsapp","enabled":true,"address":"\(address)"},{"channel":"sms","enabled":true,"address":"+14158141829"},
                                {"channel":"webchat","enabled":true,"address":"\(web)"}]}}
            """
            var config = try OrgAgentConfig.load(Data(json.utf8), tools: ToolCatalog.standard.acceptedNames)
            if org == "kite" {
                config.customProperties.channelBindings.removeAll { $0.channel == .sms }
                if let kiteSMS { config.customProperties.channelBindings.append(ChannelBinding(channel: .sms, enabled: true, address: kiteSMS)) }
            }
            let encoded = try EventCatalog.standard.encode(AgentConfigured(agentId: "primary", revision: 1, config: config))
            drafts.append(EventDraft(org: org, stream: "agent:primary", type: encoded.type, version: encoded.version, data: Array(encoded.data)))
        }
        _ = try await store.append(drafts)
        tokens = AccessTokenStore(dataDirectory: directory.path)
        for org in ["haff", "kite"] {
            for role in Role.allCases {
                secret["\(org)/\(role.rawValue)"] = try tokens.create(org: org, role: role, label: "\(org)-\(role.rawValue)").secret
            }
        }
        try await restart()
    }

    func restart() async throws {
        var options = PipelineOptions()
        options.metrics = EngineMetrics(factory: PrometheusMetricsFactory(registry: metrics))
        for model in databaseModels { try await model.prepare() }
        let readers = PostgresReaders(databaseModels)
        options.dataQueries = readers.dataQueries
        options.spend = readers.spend
        options.outbox = readers.outbox
        options.agents = readers.agents
        options.sessions = readers.sessions
        options.audit = readers.audit
        pipeline = try await Pipeline(dataDirectory: path, store: store, embeddedLog: log, provider: OfflineProvider(logger: testLogger),
                                      options: options, logger: testLogger)
    }

    deinit {
        log?.close()  // before `directory` goes, with everything in it
        if log == nil {
            let store = store
            Task.detached { await store.close() }  // the pool's connections; the database goes with the cluster
        }
    }

    var secrets: WebhookSecrets { customSecrets ?? defaultSecrets }

    var defaultSecrets: WebhookSecrets {
        WebhookSecrets(whatsappAppSecret: { org in org == "haff" ? Server.appSecret : nil }, whatsappVerifyTokens: { ["verify-me"] },
                       twilioAuthToken: { _ in Server.twilioToken }, publicBaseURL: "https://purser.example.org")
    }

    func app(limiter: RateLimiter = RateLimiter(), sourceLimiter: RateLimiter = RateLimiter()) -> some ApplicationProtocol {
        Application(router: PurserServer.router(pipeline: pipeline, dataDirectory: path, secrets: secrets, tokens: tokens, limiter: limiter,
                                                sourceLimiter: sourceLimiter, metrics: metrics))
    }

    func headers(_ org: String, _ role: String) -> HTTPFields {
        [.authorization: "Bearer " + (secret["\(org)/\(role)"] ?? "")]
    }

    /// The org's events of `type`, as stored (from the log, or PostgreSQL).
    func events(org: String, type: String) async throws -> [JSONValue] {
        try await store.events(EventQuery(org: org)).filter { $0.type == type }.compactMap { try? JSONValue(parsing: $0.line) }
    }
}

func body(_ json: String) -> ByteBuffer { ByteBuffer(string: json) }
func parse(_ response: TestResponse) -> JSONValue { (try? JSONValue(parsing: Array(response.body.readableBytesView))) ?? .null }

let webchatMessage = #"{"channel":"webchat","to":"haff-web","from":"visitor-1","text":"Was kostet der SBF Binnen?","externalMessageId":"web.1"}"#

@Suite("HTTP API")
struct APITests {
    @Test func publicRoutesAndOpenAPI() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            let html = try await client.execute(uri: "/", method: .get)
            #expect(html.status == .ok)
            #expect(String(buffer: html.body).contains("<html"))
            #expect(try await client.execute(uri: "/app.js", method: .get).status == .ok)
            let doc = parse(try await client.execute(uri: "/openapi.json", method: .get))
            #expect(doc["openapi"]?.stringValue == "3.0.3")
            #expect(doc["paths"]?["/api/orgs/{org}/approvals/{id}/approve"] != nil)
            let missing = try await client.execute(uri: "/nope", method: .get)
            #expect(missing.status == .notFound)
            #expect(parse(missing)["error"]?["code"] != nil)
        }
    }

    /// Every API route: no token → 401, bad token → 401, another org's token → 404.
    @Test(arguments: [
        ("GET", "agent"), ("PUT", "agent"), ("GET", "sessions"), ("GET", "sessions/ses_x"), ("POST", "sessions/ses_x/takeover"),
        ("POST", "sessions/ses_x/reply"), ("POST", "sessions/ses_x/release"), ("GET", "approvals"), ("POST", "approvals/apr_x/approve"),
        ("POST", "approvals/apr_x/reject"), ("GET", "activity"), ("GET", "spend"), ("POST", "query"), ("POST", "chat"), ("GET", "events"),
    ])
    func everyRouteRefusesStrangersAndOtherOrgs(method: String, path: String) async throws {
        let s = try await Server()
        let m = HTTPRequest.Method(rawValue: method)!
        try await s.app().test(.router) { client in
            #expect(try await client.execute(uri: "/api/orgs/haff/\(path)", method: m).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/orgs/haff/\(path)", method: m, headers: [.authorization: "Bearer pst_forged"]).status == .unauthorized)
            let cross = try await client.execute(uri: "/api/orgs/haff/\(path)", method: m, headers: s.headers("kite", "admin"), body: body("{}"))
            #expect(cross.status == .notFound, "\(method) \(path) with kite's token: \(cross.status)")
        }
    }

    @Test func rolesGateActions() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            #expect(try await client.execute(uri: "/api/orgs/haff/agent", method: .get, headers: s.headers("haff", "viewer")).status == .ok)
            let denied = try await client.execute(uri: "/api/orgs/haff/sessions/ses_x/takeover", method: .post, headers: s.headers("haff", "viewer"))
            #expect(denied.status == .forbidden)
            let put = try await client.execute(uri: "/api/orgs/haff/agent", method: .put, headers: s.headers("haff", "operator"), body: body("{}"))
            #expect(put.status == .forbidden)
            let who = parse(try await client.execute(uri: "/api/whoami", method: .get, headers: s.headers("haff", "operator")))
            #expect(who["org"]?.stringValue == "haff")
            #expect(who["role"]?.stringValue == "operator")
        }
    }

    @Test func heldReplyIsApprovedOverHTTPAndASecondDecisionGets409() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            let posted = try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(webchatMessage))
            #expect(posted.status == .ok)
            // The held reply stays internal: the anonymous caller is told it is pending.
            let outcome = parse(posted)["outcomes"]?[0]
            #expect(outcome?["outcome"]?.stringValue == "pending")
            #expect(outcome?["reply"] == nil)
            let listed = parse(try await client.execute(uri: "/api/orgs/haff/approvals", method: .get, headers: s.headers("haff", "viewer")))
            let approval = try #require(listed["approvals"]?[0])
            #expect(approval["replyText"]?.stringValue == "Der SBF Binnen kostet 450 €.")
            let id = try #require(approval["approvalId"]?.stringValue)
            #expect(parse(try await client.execute(uri: "/api/orgs/kite/approvals", method: .get, headers: s.headers("kite", "viewer")))["approvals"]?.arrayValue?.isEmpty == true)
            let approved = try await client.execute(uri: "/api/orgs/haff/approvals/\(id)/approve", method: .post, headers: s.headers("haff", "operator"),
                                                    body: body(#"{"editedText":"450 €, inklusive Lehrmaterial."}"#))
            #expect(approved.status == .ok)
            #expect(parse(approved)["outcome"]?.stringValue == "sent")
            let again = try await client.execute(uri: "/api/orgs/haff/approvals/\(id)/approve", method: .post, headers: s.headers("haff", "operator"), body: body("{}"))
            #expect(again.status == .conflict)
            let granted = try await s.events(org: "haff", type: "approval.granted")
            #expect(granted.first?["actor"]?["id"]?.stringValue == "haff-operator")
            let bad = try await client.execute(uri: "/api/orgs/haff/approvals/\(id)/approve", method: .post, headers: s.headers("haff", "operator"), body: body("[1,2"))
            #expect(bad.status == .badRequest)
        }
    }

    @Test func concurrentApprovalsOverHTTPExactlyOneWins() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            _ = try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(webchatMessage))
            let id = try #require(parse(try await client.execute(uri: "/api/orgs/haff/approvals", method: .get, headers: s.headers("haff", "viewer")))["approvals"]?[0]?["approvalId"]?.stringValue)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await client.execute(uri: "/api/orgs/haff/approvals/\(id)/approve", method: .post, headers: s.headers("haff", "operator"), body: body("{}")).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0 == .conflict }.count == 5)
        }
    }

    @Test func pendingApprovalSurvivesARestartOfTheEngine() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            _ = try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(webchatMessage))
        }
        try await s.restart()
        try await s.app().test(.router) { client in
            let listed = parse(try await client.execute(uri: "/api/orgs/haff/approvals", method: .get, headers: s.headers("haff", "viewer")))
            let id = try #require(listed["approvals"]?[0]?["approvalId"]?.stringValue)
            let rejected = try await client.execute(uri: "/api/orgs/haff/approvals/\(id)/reject", method: .post, headers: s.headers("haff", "operator"),
                                                    body: body(#"{"reason":"too short"}"#))
            #expect(rejected.status == .ok)
        }
    }

    @Test func takeoverReplyReleaseAndTranscript() async throws {
        let s = try await Server(haffAutonomy: "autonomous")
        try await s.app().test(.router) { client in
            let sent = parse(try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(webchatMessage)))
            #expect(sent["outcomes"]?[0]?["outcome"]?.stringValue == "sent")
            let visitorToken = try #require(sent["visitorToken"]?.stringValue)
            let listed = parse(try await client.execute(uri: "/api/orgs/haff/sessions", method: .get, headers: s.headers("haff", "viewer")))
            let session = try #require(listed["sessions"]?[0]?["sessionId"]?.stringValue)
            let h = s.headers("haff", "operator")
            #expect(try await client.execute(uri: "/api/orgs/haff/sessions/\(session)/takeover", method: .post, headers: h).status == .ok)
            let during = parse(try await client.execute(uri: "/webhooks/webchat", method: .post,
                                                        body: body(#"{"channel":"webchat","to":"haff-web","visitorToken":"\#(visitorToken)","text":"Hallo?","externalMessageId":"web.2"}"#)))
            #expect(during["outcomes"]?[0]?["outcome"]?.stringValue == "pending")
            #expect(try await client.execute(uri: "/api/orgs/haff/sessions/\(session)/reply", method: .post, headers: h, body: body(#"{"text":"Moin, Anna hier."}"#)).status == .ok)
            #expect(try await client.execute(uri: "/api/orgs/haff/sessions/\(session)/reply", method: .post, headers: h, body: body(#"{"text":""}"#)).status == .badRequest)
            #expect(try await client.execute(uri: "/api/orgs/haff/sessions/\(session)/release", method: .post, headers: h).status == .ok)
            #expect(try await client.execute(uri: "/api/orgs/haff/sessions/\(session)/release", method: .post, headers: h).status == .conflict)
            let shown = parse(try await client.execute(uri: "/api/orgs/haff/sessions/\(session)", method: .get, headers: s.headers("haff", "viewer")))
            let texts = shown["transcript"]?.arrayValue?.compactMap { $0["text"]?.stringValue } ?? []
            #expect(texts.contains("Hallo?") && texts.contains("Moin, Anna hier."))
            let sessions = parse(try await client.execute(uri: "/api/orgs/haff/sessions?status=active", method: .get, headers: s.headers("haff", "viewer")))
            #expect(sessions["sessions"]?.arrayValue?.count == 1)
            #expect(try await client.execute(uri: "/api/orgs/haff/sessions?status=bogus", method: .get, headers: s.headers("haff", "viewer")).status == .badRequest)
            #expect(try await client.execute(uri: "/api/orgs/kite/sessions/\(session)", method: .get, headers: s.headers("kite", "viewer")).status == .notFound)
        }
    }

    @Test func agentUpdateIsValidatedAndVersioned() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            let current = parse(try await client.execute(uri: "/api/orgs/haff/agent", method: .get, headers: s.headers("haff", "viewer")))
            var config = try #require(current["config"])
            guard case .object(var fields) = config, case .object(var props)? = fields["customProperties"] else { Issue.record("no config"); return }
            props["maxCostPerDay"] = -3
            fields["customProperties"] = .object(props)
            config = .object(fields)
            let refused = try await client.execute(uri: "/api/orgs/haff/agent", method: .put, headers: s.headers("haff", "admin"), body: body(config.serialized()))
            #expect(refused.status == .badRequest)
            #expect(parse(refused)["error"]?["problems"]?.arrayValue?.contains { $0.stringValue?.contains("maxCostPerDay") == true } == true)
            props["maxCostPerDay"] = 7.5
            fields["customProperties"] = .object(props)
            let ok = try await client.execute(uri: "/api/orgs/haff/agent", method: .put, headers: s.headers("haff", "admin"), body: body(JSONValue.object(fields).serialized()))
            #expect(ok.status == .ok)
            #expect(parse(ok)["revision"]?.doubleValue == 2)
            // A config naming another org is refused: the org comes from the URL and the token.
            fields["organizationId"] = "kite"
            let foreign = try await client.execute(uri: "/api/orgs/haff/agent", method: .put, headers: s.headers("haff", "admin"), body: body(JSONValue.object(fields).serialized()))
            #expect(foreign.status == .badRequest)
            let after = parse(try await client.execute(uri: "/api/orgs/haff/agent", method: .get, headers: s.headers("haff", "viewer")))
            #expect(after["config"]?["customProperties"]?["maxCostPerDay"]?.doubleValue == 7.5)
            #expect(after["history"]?.arrayValue?.count == 2)
        }
    }

    /// /metrics in Prometheus's text format: turns by outcome, events appended, model call
    /// latency; no label or value names an org, a session or a customer.
    @Test func metricsCountTurnsAppendsAndModelCallsWithoutTenantData() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            let posted = try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(webchatMessage))
            #expect(posted.status == .ok)
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: response.body)
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasPrefix("purser_turns_total{outcome=") && $0.hasSuffix(" 1") }, "\(text)")
            let appended = lines.first { $0.hasPrefix("purser_events_appended_total ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
            #expect((appended ?? 0) >= 5, "\(text)")
            #expect(lines.contains { $0.hasPrefix("purser_model_call_seconds_count{result=\"ok\"} 1") }, "\(text)")
            for tenant in ["haff", "kite", "visitor", "SBF", "ses_"] { #expect(!text.contains(tenant), "\(tenant) in /metrics") }
        }
    }

    @Test func activitySpendQueryAndChat() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            _ = try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(webchatMessage))
            let all = parse(try await client.execute(uri: "/api/orgs/haff/activity?limit=200", method: .get, headers: s.headers("haff", "viewer")))
            let total = all["items"]?.arrayValue?.count ?? 0
            #expect(total >= 2)
            let activity = parse(try await client.execute(uri: "/api/orgs/haff/activity?limit=1", method: .get, headers: s.headers("haff", "viewer")))
            #expect(activity["items"]?.arrayValue?.count == 1)
            let next = try #require(activity["next"]?.doubleValue)
            let older = parse(try await client.execute(uri: "/api/orgs/haff/activity?limit=200&before=\(Int(next))", method: .get, headers: s.headers("haff", "viewer")))
            #expect(older["items"]?.arrayValue?.count == total - 1)
            #expect(older["items"]?.arrayValue?.allSatisfy { ($0["seq"]?.doubleValue ?? .infinity) < next } == true)
            let spend = parse(try await client.execute(uri: "/api/orgs/haff/spend", method: .get, headers: s.headers("haff", "viewer")))
            #expect(spend["agents"]?[0]?["messages"]?.doubleValue == 1)
            #expect(spend["agents"]?[0]?["maxMessagesPerDay"]?.doubleValue == 100)
            let query = try await client.execute(uri: "/api/orgs/haff/query", method: .post, headers: s.headers("haff", "viewer"),
                                                 body: body(#"{"objectType":"crm_contact","aggregate":{"type":"count"}}"#))
            #expect(query.status == .ok)
            let badQuery = try await client.execute(uri: "/api/orgs/haff/query", method: .post, headers: s.headers("haff", "viewer"), body: body(#"{"objectType":"x","filters":[{"field":"a;b","op":"eq","value":1}]}"#))
            #expect(badQuery.status == .badRequest)
            let chat = try await client.execute(uri: "/api/orgs/haff/chat", method: .post, headers: s.headers("haff", "operator"), body: body(#"{"text":"Was kostet der SBF Binnen?"}"#))
            #expect(chat.status == .ok)
            #expect(parse(chat)["outcome"]?.stringValue == "drafted")  // internal: nothing delivered outside
            #expect(try await s.events(org: "haff", type: "message.sent").isEmpty)
        }
    }

    @Test func rateLimitGives429WithRetryAfter() async throws {
        let s = try await Server()
        try await s.app(limiter: RateLimiter(ratePerSecond: 0.001, burst: 3)).test(.router) { client in
            for _ in 0..<3 { #expect(try await client.execute(uri: "/api/orgs/haff/agent", method: .get, headers: s.headers("haff", "viewer")).status == .ok) }
            let limited = try await client.execute(uri: "/api/orgs/haff/agent", method: .get, headers: s.headers("haff", "viewer"))
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] != nil)
        }
    }

    @Test func oversizedBodyGets413() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            let big = String(repeating: "x", count: HTTPLimits.bodyBytesMax + 10)
            let response = try await client.execute(uri: "/webhooks/webchat", method: .post, body: body(big))
            #expect(response.status == .contentTooLarge)
        }
    }
}

@Suite("HTTP webhooks with the real sample bodies")
struct WebhookTests {
    static let samples: URL = {
        // Tests/PurserHTTPTests/APITests.swift → Tests/Fixtures/samples
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/samples")
    }()

    static func sign(_ body: Data, secret: String) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))).map { String(format: "%02x", $0) }.joined()
    }

    @Test func whatsAppHandshake() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            let ok = try await client.execute(uri: "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=12345", method: .get)
            #expect(ok.status == .ok)
            #expect(String(buffer: ok.body) == "12345")
            #expect(try await client.execute(uri: "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", method: .get).status == .forbidden)
        }
    }

    @Test(arguments: ["pywa_message.json", "cloud_api_text_message.json", "pywa_message_status.json"])
    func signedWhatsAppBodyIsProcessedAndABadSignatureIsNot(file: String) async throws {
        let s = try await Server()
        var sample = try Data(contentsOf: Self.samples.appendingPathComponent("whatsapp/" + file))
        if file == "pywa_message_status.json", case .object(var bodies) = try JSONValue(parsing: Array(sample)) {
            // The bundle's `group` body goes to a placeholder number nobody binds: a body with an
            // item for no org is admitted only by the server-wide secret, so it is left out here.
            bodies["group"] = nil
            sample = Data(JSONValue.object(bodies).serialized().utf8)
        }
        let data = sample
        try await s.app().test(.router) { client in
            let forged = try await client.execute(uri: "/webhooks/whatsapp", method: .post, headers: [.init("X-Hub-Signature-256")!: Self.sign(data, secret: "wrong")],
                                                  body: ByteBuffer(bytes: data))
            #expect(forged.status == .unauthorized)
            let unsigned = try await client.execute(uri: "/webhooks/whatsapp", method: .post, body: ByteBuffer(bytes: data))
            #expect(unsigned.status == .unauthorized)
            #expect(try await s.events(org: "haff", type: "message.received").isEmpty)
            #expect(try await s.events(org: ReservedOrg.unrouted, type: "message.rejected").isEmpty)
            // pywa's bodies go to +972 12-345-6789, which haff binds (signed with haff's secret); the
            // Meta reference body goes to a number nobody binds, so only the server-wide secret
            // (none here) could sign it.
            let signed = try await client.execute(uri: "/webhooks/whatsapp", method: .post, headers: [.init("X-Hub-Signature-256")!: Self.sign(data, secret: Server.appSecret)],
                                                  body: ByteBuffer(bytes: data))
            if file == "cloud_api_text_message.json" {
                #expect(signed.status == .unauthorized)
            } else {
                #expect(signed.status == .ok, "\(String(buffer: signed.body))")
                let outcomes = parse(signed)["outcomes"]?.arrayValue ?? []
                #expect(!outcomes.isEmpty)
                #expect(!outcomes.contains { $0["outcome"]?.stringValue == "failed" })
            }
        }
    }

    @Test func signedTwilioBodyIsProcessedAndABadSignatureIsNot() async throws {
        let s = try await Server(haffAutonomy: "autonomous")
        let text = try String(contentsOf: Self.samples.appendingPathComponent("twilio/inbound_sms_form_bodies.txt"), encoding: .utf8)
        let form = try #require(text.split(separator: "\n").first { !$0.hasPrefix("#") && $0.contains("=") }).trimmingCharacters(in: .whitespaces)
        let params = form.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
        let url = "https://purser.example.org/webhooks/twilio"
        let signed = url + params.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        let signature = Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(signed.utf8), using: SymmetricKey(data: Data(Server.twilioToken.utf8)))).base64EncodedString()
        try await s.app().test(.router) { client in
            let forged = try await client.execute(uri: "/webhooks/twilio", method: .post,
                                                  headers: [.init("X-Twilio-Signature")!: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", .contentType: "application/x-www-form-urlencoded"],
                                                  body: ByteBuffer(string: form))
            #expect(forged.status == .unauthorized)
            let ok = try await client.execute(uri: "/webhooks/twilio", method: .post,
                                              headers: [.init("X-Twilio-Signature")!: signature, .contentType: "application/x-www-form-urlencoded"],
                                              body: ByteBuffer(string: form))
            #expect(ok.status == .ok, "\(String(buffer: ok.body))")
            #expect(parse(ok)["outcomes"]?[0]?["outcome"]?.stringValue != "failed")
        }
    }
}
