import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LLM
import Pipeline
import PurserDomain
@testable import PurserHTTP
import PurserTestSupport
import Testing
import Tools

/// Issue #8, item 5: webhooks from many orgs at once over loopback (a live server, bounded in
/// size), then the log is checked: every acknowledged message is there exactly once, nothing
/// crossed orgs, and the caps held.
@Suite("HTTP load over loopback")
struct LoadTests {
    static let orgs = 12
    static let messagesPerOrg = 20
    static let visitorsPerOrg = 5
    static let capPerOrg = 15

    @Test func manyOrgsAtOnceExactlyOnceNoCrossingCapsHeld() async throws {
        let dir = TempDir(prefix: "purser-load")
        defer { withExtendedLifetime(dir) {} }
        let path = dir.path
        let log = try EventLog.open(directory: dir.logDirectory)
        defer { log.close() }
        var drafts: [EventDraft] = []
        for i in 0..<Self.orgs {
            let org = "org\(i)"
            let json = """
            {"type":"org_agent","subtype":"primary","organizationId":"\(org)","name":"\(org)","status":"active",
             "customProperties":{"language":"en","faqEntries":[{"q":"What is the code word?","a":"The code word of \(org) is SECRET-\(org)."}],
             "autonomyLevel":"autonomous","maxMessagesPerDay":\(Self.capPerOrg),"maxCostPerDay":5,
             "channelBindings":[{"channel":"webchat","enabled":true,"address":"web-\(org)"}]}}
            """
            let config = try OrgAgentConfig.load(Data(json.utf8), tools: ToolCatalog.standard.acceptedNames)
            let encoded = try EventCatalog.standard.encode(AgentConfigured(agentId: "primary", revision: 1, config: config))
            drafts.append(EventDraft(org: org, stream: "agent:primary", type: encoded.type, version: encoded.version, data: Array(encoded.data)))
        }
        _ = try log.appendSync(drafts)
        let pipeline = try await Pipeline(dataDirectory: path, log: log, provider: OfflineProvider(logger: testLogger), logger: testLogger)
        let secrets = WebhookSecrets(whatsappAppSecret: { _ in nil }, whatsappVerifyTokens: { [] }, twilioAuthToken: { _ in nil })
        let router = PurserServer.router(pipeline: pipeline, dataDirectory: path, secrets: secrets, tokens: AccessTokenStore(dataDirectory: path),
                                         limiter: RateLimiter(ratePerSecond: 10_000, burst: 10_000),
                                         sourceLimiter: RateLimiter(ratePerSecond: 10_000, burst: 10_000))
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))

        let acknowledged = try await app.test(.live) { client in
            @Sendable func post(_ org: String, _ n: Int, token: String?) async throws -> (ids: [String], token: String?) {
                let body = #"{"channel":"webchat","to":"web-\#(org)","text":"What is the code word? (\#(n))","externalMessageId":"\#(org).m\#(n)"}"#
                let headers: HTTPFields = token.map { [WebchatRoutes.tokenHeader: $0] } ?? [:]
                let response = try await client.execute(uri: "/webhooks/webchat", method: .post, headers: headers, body: ByteBuffer(string: body))
                guard response.status == .ok else { return ([], nil) }
                let answer = try? JSONValue(parsing: Array(response.body.readableBytesView))
                let outcomes = answer?["outcomes"]?.arrayValue ?? []
                return (outcomes.compactMap { $0["messageId"]?.stringValue.map { "\(org)|\($0)" } }, answer?["visitorToken"]?.stringValue)
            }
            // Each message twice (a channel retrying): it must be stored once. Five visitors per
            // org: their first messages (without a token) open the conversations, and the rest
            // carry the token each visitor was given.
            var acknowledged = Set<String>()
            let first = try await withThrowingTaskGroup(of: (String, Int, [String], String?).self) { group in
                for i in 0..<Self.orgs {
                    for n in 0..<Self.visitorsPerOrg {
                        for _ in 0..<2 {
                            group.addTask { let r = try await post("org\(i)", n, token: nil); return ("org\(i)", n, r.ids, r.token) }
                        }
                    }
                }
                return try await group.reduce(into: [(String, Int, [String], String?)]()) { $0.append($1) }
            }
            var tokens: [String: String] = [:]
            for (org, n, ids, token) in first {
                acknowledged.formUnion(ids)
                if let token { tokens["\(org)|\(n)"] = token }
            }
            let visitorTokens = tokens
            let rest = try await withThrowingTaskGroup(of: [String].self) { group in
                for i in 0..<Self.orgs {
                    for n in Self.visitorsPerOrg..<Self.messagesPerOrg {
                        let token = visitorTokens["org\(i)|\(n % Self.visitorsPerOrg)"]
                        for _ in 0..<2 {
                            group.addTask { try await post("org\(i)", n, token: token).ids }
                        }
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.formUnion($1) }
            }
            #expect(tokens.count == Self.orgs * Self.visitorsPerOrg, "every visitor got one token")
            return acknowledged.union(rest)
        }

        var received: [String: [String]] = [:]
        var leaks = 0
        var charged: [String: Int] = [:]
        try LogReader(directory: path + "/eventlog").scan(.init()) { record in
            guard let event = try? JSONValue(parsing: record.jsonBytes) else { return true }
            let org = record.org
            if record.type == "message.received", let id = event["id"]?.stringValue { received[org, default: []].append(id) }
            if record.type == "cost.charged" { charged[org, default: 0] += Int(event["data"]?["messages"]?.doubleValue ?? 0) }
            let text = record.jsonString
            for j in 0..<Self.orgs where "org\(j)" != org && text.contains("SECRET-org\(j).") { leaks += 1 }
            return true
        }
        #expect(acknowledged.count == Self.orgs * Self.messagesPerOrg)
        for ack in acknowledged {
            let parts = ack.split(separator: "|").map(String.init)
            #expect(received[parts[0]]?.filter { $0 == parts[1] }.count == 1, "\(ack) not stored exactly once")
        }
        #expect(received.values.map(\.count).reduce(0, +) == Self.orgs * Self.messagesPerOrg)
        #expect(leaks == 0)
        for i in 0..<Self.orgs { #expect((charged["org\(i)"] ?? 0) <= Self.capPerOrg) }
    }
}
