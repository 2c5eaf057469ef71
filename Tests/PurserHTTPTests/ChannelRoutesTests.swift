import Channels
import Foundation
import Hummingbird
import HummingbirdTesting
import PurserDomain
@testable import PurserHTTP
import Testing

@Suite("The channel registry over HTTP")
struct ChannelRoutesTests {
    @Test("the dashboard's channel list comes from the registry: every name and label, in order, for any token")
    func listsTheRegistry() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            let response = try await client.execute(uri: "/api/channels", method: .get, headers: s.headers("kite", "viewer"))
            #expect(response.status == .ok)
            let channels = try #require(parse(response)["channels"]?.arrayValue)
            #expect(channels.compactMap { $0["name"]?.stringValue } == Channel.allCases.map(\.rawValue))
            #expect(channels.compactMap { $0["label"]?.stringValue } == ChannelRegistry.adapters.map(\.label))
            #expect(channels.first { $0["name"] == "instagram_dm" }?["label"] == "Instagram DM")

            let stranger = try await client.execute(uri: "/api/channels", method: .get)
            #expect(stranger.status == .unauthorized)
        }
    }

    @Test("the dashboard keeps no list of channels of its own")
    func dashboardHasNoChannelList() {
        for name in Channel.allCases.map(\.rawValue) {
            #expect(!DashboardAssets.indexHTML.contains("value=\"\(name)\""), "index.html offers \(name) itself")
            #expect(!DashboardAssets.appJS.contains("\"\(name)\""), "app.js names \(name) itself")
        }
        #expect(DashboardAssets.appJS.contains("\"/api/channels\""))
    }

    @Test("the OpenAPI document's webhook operations are the registry's webhooks, bodies included")
    func webhookPathsComeFromTheRegistry() throws {
        let document = OpenAPIDocument.document
        let paths = try #require(document["paths"]?.objectValue)
        var expected: Set<String> = []
        for adapter in ChannelRegistry.adapters {
            guard let route = adapter.webhook else { continue }
            let path = "/" + route.path
            expected.insert(path)
            #expect(paths[path]?["post"] != nil, "\(adapter.channel) posts to \(path)")
            #expect((paths[path]?["get"] != nil) == (route.handshake != nil), "\(path): a GET exactly when there is a handshake")
            if case .visitorToken = route.verification { expected.insert(path + "/messages") }
            if let body = route.body {
                #expect(paths[path]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"]?["$ref"]
                        == .string("#/components/schemas/" + body.name))
                #expect(document["components"]?["schemas"]?[body.name] == body.schema)
            }
        }
        #expect(Set(paths.keys.filter { $0.hasPrefix("/webhooks/") }) == expected)
    }

    /// A made-up provider, declared the way a new channel's adapter is.
    struct Demochat: ChannelAdapter {
        var channel: Channel { Channel(declaring: "demochat") }
        var addressKind: AddressKind { .identifier(contactProperty: "demochatId") }
        var webhook: WebhookRoute? {
            WebhookRoute(path: "webhooks/demochat", verification: .signature(header: "X-Demochat-Signature", secretName: "demochat_secret"),
                         provider: "Demochat", body: .init(name: "DemochatBody", schema: ["type": "object", "description": "a message", "additionalProperties": true]),
                         refusal: "more than one message",
                         handshake: .init(summary: "Demochat's check", queryParameters: ["challenge"]))
        }
    }

    @Test("a new channel's webhook is documented from its adapter alone")
    func newChannelNeedsNoOpenAPIEdit() throws {
        let routes = WebhookRoutes.documented(Demochat())
        #expect(routes.map { "\($0.method) \($0.path)" } == ["get /webhooks/demochat", "post /webhooks/demochat"])
        let get = routes[0], post = routes[1]
        #expect(get.summary == "Demochat's check")
        #expect(get.parameters.compactMap { $0["name"]?.stringValue } == ["challenge"])
        #expect(post.summary == "Demochat webhook (X-Demochat-Signature checked)")
        #expect(post.body?.name == "DemochatBody")
        #expect(Set(post.answers.map(\.status)) == [200, 400, 401, 413, 429, 503])
        #expect(post.answers.first { $0.status == 400 }?.description == "more than one message")
    }
}
