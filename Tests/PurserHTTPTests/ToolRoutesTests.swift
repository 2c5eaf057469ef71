import Foundation
import Hummingbird
import HummingbirdTesting
import PurserDomain
@testable import PurserHTTP
import Testing
import Tools

@Suite("GET /api/tools")
struct ToolRoutesTests {
    @Test("the dashboard's tool list comes from the catalog: every name, category and sentence, for any token")
    func listsTheCatalog() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            let response = try await client.execute(uri: "/api/tools", method: .get, headers: s.headers("kite", "viewer"))
            #expect(response.status == .ok)
            let body = parse(response)
            let tools = try #require(body["tools"]?.arrayValue)
            #expect(tools.compactMap { $0["name"]?.stringValue } == ToolCatalog.standard.acceptedNames)
            for entry in ToolCatalog.standard.entries {
                let listed = try #require(tools.first { $0["name"]?.stringValue == entry.name })
                #expect(listed["implemented"] == true)
                #expect(listed["category"]?.stringValue == entry.baseCategory.rawValue)
                #expect(listed["sentence"]?.stringValue == entry.sentence.template)
                #expect(listed["parameters"] == entry.parameters)
            }
            for name in ToolCatalog.standard.notImplemented {
                let listed = try #require(tools.first { $0["name"]?.stringValue == name })
                #expect(listed["implemented"] == false && listed["category"] == nil)
            }
            #expect(body["categories"]?.arrayValue?.compactMap(\.stringValue) == ActionCategory.allCases.map(\.rawValue))

            let stranger = try await client.execute(uri: "/api/tools", method: .get)
            #expect(stranger.status == .unauthorized)
        }
    }

    @Test("the OpenAPI document describes the route's body, property by property")
    func documented() async throws {
        let s = try await Server()
        try await s.app().test(.router) { client in
            let doc = parse(try await client.execute(uri: "/openapi.json", method: .get))
            let reference = try #require(doc["paths"]?["/api/tools"]?["get"]?["responses"]?["200"]?["content"]?["application/json"]?["schema"]?["$ref"]?.stringValue)
            #expect(reference == "#/components/schemas/ToolListing")
            let schema = try #require(doc["components"]?["schemas"]?["ToolListing"])
            #expect(schema["required"] == ["tools", "categories"])
            #expect(schema["properties"]?["tools"]?["items"]?["properties"]?["category"]?["enum"]?.arrayValue?.count == ActionCategory.allCases.count)
        }
    }
}
