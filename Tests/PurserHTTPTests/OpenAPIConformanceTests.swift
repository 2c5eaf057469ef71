import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PurserDomain
@testable import PurserHTTP
import Testing

/// Checks a JSON value against a schema of the served OpenAPI document (the subset the document
/// uses: `$ref`, `type`, `nullable`, `enum`, `required`, `properties`, `additionalProperties`,
/// `items`, `minimum`, `maximum`, `minLength`). Returns every mismatch, each with its path.
func schemaProblems(_ value: JSONValue, _ schema: JSONValue, document: JSONValue, at path: String = "$") -> [String] {
    if let ref = schema["$ref"]?.stringValue {
        let name = String(ref.dropFirst("#/components/schemas/".count))
        guard let target = document["components"]?["schemas"]?[name] else { return ["\(path): unresolved \(ref)"] }
        return schemaProblems(value, target, document: document, at: path)
    }
    if case .null = value {
        return schema["nullable"]?.boolValue == true || schema["type"] == nil ? [] : ["\(path): null, but the schema is not nullable"]
    }
    var problems: [String] = []
    if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) { problems.append("\(path): \(value) is not one of \(allowed)") }
    switch (schema["type"]?.stringValue, value) {
    case (nil, _): break
    case ("string", .string(let text)):
        if let min = schema["minLength"]?.doubleValue, Double(text.count) < min { problems.append("\(path): shorter than \(min)") }
    case ("integer", .number(let number)):
        if number.rounded() != number { problems.append("\(path): \(number) is not an integer") }
        if let min = schema["minimum"]?.doubleValue, number < min { problems.append("\(path): \(number) < \(min)") }
        if let max = schema["maximum"]?.doubleValue, number > max { problems.append("\(path): \(number) > \(max)") }
    case ("number", .number), ("boolean", .bool): break
    case ("array", .array(let items)):
        if let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() { problems += schemaProblems(item, itemSchema, document: document, at: "\(path)[\(index)]") }
        }
    case ("object", .object(let members)):
        for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
            problems.append("\(path): required \(name) is missing")
        }
        let properties = schema["properties"]?.objectValue ?? [:]
        for (name, member) in members {
            if let propertySchema = properties[name] {
                problems += schemaProblems(member, propertySchema, document: document, at: "\(path).\(name)")
            } else if schema["additionalProperties"]?.boolValue == false {
                problems.append("\(path): \(name) is not described")
            }
        }
    case (let type?, _):
        problems.append("\(path): \(value) is not of type \(type)")
    }
    return problems
}

@Suite("OpenAPI document")
struct OpenAPIConformanceTests {
    /// The documented schema of an answer, or nil when the document has none for it.
    static func documented(_ document: JSONValue, method: String, path: String, status: Int) -> JSONValue? {
        document["paths"]?[path]?[method.lowercased()]?["responses"]?[String(status)]?["content"]?["application/json"]?["schema"]
    }

    /// Every JSON answer of every route, driven for real, matches the schema the document gives
    /// for its route and status (an undocumented status or field fails); and every route's
    /// success answer is among them.
    @Test func everyRouteAnswersAsDocumented() async throws {
        let s = try await Server()
        let document = OpenAPIDocument.document
        let checked = try await s.app().test(.router) { client -> Set<String> in
            var checked: Set<String> = []
            func call(_ method: HTTPRequest.Method, _ uri: String, route: String, headers: HTTPFields = [:], _ json: String? = nil) async throws -> JSONValue {
                let response = try await client.execute(uri: uri, method: method, headers: headers, body: json.map(body))
                let status = Int(response.status.code)
                if route == "/api/orgs/{org}/events" || (route == "/webhooks/whatsapp" && method == .get && status == 200) { return .null }
                let schema = try #require(Self.documented(document, method: method.rawValue, path: route, status: status),
                                          "\(method) \(route) answered \(status), which the document does not describe")
                let value = parse(response)
                let problems = schemaProblems(value, schema, document: document)
                #expect(problems.isEmpty, "\(method) \(uri) → \(status): \(problems)")
                checked.insert("\(method.rawValue.lowercased()) \(route) \(status)")
                return value
            }
            let viewer = s.headers("haff", "viewer"), op = s.headers("haff", "operator"), admin = s.headers("haff", "admin")
            _ = try await call(.get, "/healthz", route: "/healthz")
            #expect(try await call(.get, "/readyz", route: "/readyz")["status"]?.stringValue == "ready")
            _ = try await call(.get, "/api/whoami", route: "/api/whoami", headers: viewer)
            _ = try await call(.get, "/api/tools", route: "/api/tools", headers: viewer)
            _ = try await call(.get, "/api/tools", route: "/api/tools")
            _ = try await call(.get, "/api/channels", route: "/api/channels", headers: viewer)
            _ = try await call(.get, "/api/channels", route: "/api/channels")
            _ = try await call(.get, "/api/whoami", route: "/api/whoami")
            let first = try await call(.post, "/webhooks/webchat", route: "/webhooks/webchat", webchatMessage)
            let visitorToken = try #require(first["visitorToken"]?.stringValue)
            var visitor: HTTPFields = [:]
            visitor[HTTPField.Name("X-Visitor-Token")!] = visitorToken
            _ = try await call(.post, "/webhooks/webchat", route: "/webhooks/webchat", headers: visitor,
                               #"{"to":"haff-web","text":"Was kostet der SBF Binnen?","externalMessageId":"web.2"}"#)
            _ = try await call(.post, "/webhooks/webchat", route: "/webhooks/webchat", #"{"to":"nobody-web","text":"hi"}"#)
            _ = try await call(.post, "/webhooks/webchat", route: "/webhooks/webchat", "[1]")
            _ = try await call(.get, "/webhooks/webchat/messages?after=0", route: "/webhooks/webchat/messages", headers: visitor)
            _ = try await call(.get, "/webhooks/webchat/messages", route: "/webhooks/webchat/messages")
            _ = try await call(.post, "/webhooks/whatsapp", route: "/webhooks/whatsapp", #"{"object":"whatsapp_business_account","entry":[]}"#)
            _ = try await call(.get, "/webhooks/whatsapp", route: "/webhooks/whatsapp")
            _ = try await call(.post, "/webhooks/twilio", route: "/webhooks/twilio", "Body=hi&From=%2B491701234567&To=%2B972123456789")
            let whatsapp = HostileTenantTests.whatsapp([HostileTenantTests.change(number: "972123456789", id: "wamid.conformance")])
            _ = try await call(.post, "/webhooks/whatsapp", route: "/webhooks/whatsapp", headers: HostileTenantTests.sign(whatsapp, Server.appSecret), whatsapp)
            let (form, signature) = try Self.signedTwilioForm()
            _ = try await call(.post, "/webhooks/twilio", route: "/webhooks/twilio",
                               headers: [.init("X-Twilio-Signature")!: signature, .contentType: "application/x-www-form-urlencoded"], form)

            let agent = try await call(.get, "/api/orgs/haff/agent", route: "/api/orgs/{org}/agent", headers: viewer)
            let config = try #require(agent["config"])
            _ = try await call(.put, "/api/orgs/haff/agent", route: "/api/orgs/{org}/agent", headers: admin, config.serialized())
            _ = try await call(.put, "/api/orgs/haff/agent", route: "/api/orgs/{org}/agent", headers: admin, "{}")
            _ = try await call(.put, "/api/orgs/haff/agent", route: "/api/orgs/{org}/agent", headers: viewer, "{}")

            let sessions = try await call(.get, "/api/orgs/haff/sessions", route: "/api/orgs/{org}/sessions", headers: viewer)
            let sessionId = try #require(sessions["sessions"]?[0]?["sessionId"]?.stringValue)
            _ = try await call(.get, "/api/orgs/haff/sessions?status=nope", route: "/api/orgs/{org}/sessions", headers: viewer)
            _ = try await call(.get, "/api/orgs/haff/sessions/\(sessionId)", route: "/api/orgs/{org}/sessions/{id}", headers: viewer)
            _ = try await call(.get, "/api/orgs/haff/sessions/ses_nope", route: "/api/orgs/{org}/sessions/{id}", headers: viewer)

            let approvals = try await call(.get, "/api/orgs/haff/approvals", route: "/api/orgs/{org}/approvals", headers: viewer)
            let ids = approvals["approvals"]?.arrayValue?.compactMap { $0["approvalId"]?.stringValue } ?? []
            try #require(ids.count >= 2)
            _ = try await call(.post, "/api/orgs/haff/approvals/\(ids[0])/approve", route: "/api/orgs/{org}/approvals/{id}/approve", headers: op)
            _ = try await call(.post, "/api/orgs/haff/approvals/\(ids[0])/approve", route: "/api/orgs/{org}/approvals/{id}/approve", headers: op)
            _ = try await call(.post, "/api/orgs/haff/approvals/\(ids[1])/reject", route: "/api/orgs/{org}/approvals/{id}/reject", headers: op,
                               #"{"reason": 5}"#)
            _ = try await call(.post, "/api/orgs/haff/approvals/\(ids[1])/reject", route: "/api/orgs/{org}/approvals/{id}/reject", headers: op,
                               #"{"reason": "not now"}"#)
            _ = try await call(.get, "/api/orgs/haff/approvals?state=all", route: "/api/orgs/{org}/approvals", headers: viewer)

            _ = try await call(.post, "/api/orgs/haff/sessions/\(sessionId)/takeover", route: "/api/orgs/{org}/sessions/{id}/takeover", headers: op)
            _ = try await call(.post, "/api/orgs/haff/sessions/\(sessionId)/reply", route: "/api/orgs/{org}/sessions/{id}/reply", headers: op,
                               #"{"text": "Moin, hier ist Anna."}"#)
            _ = try await call(.post, "/api/orgs/haff/sessions/\(sessionId)/reply", route: "/api/orgs/{org}/sessions/{id}/reply", headers: op, "{}")
            _ = try await call(.post, "/api/orgs/haff/sessions/\(sessionId)/release", route: "/api/orgs/{org}/sessions/{id}/release", headers: op)

            let page = try await call(.get, "/api/orgs/haff/activity?limit=1", route: "/api/orgs/{org}/activity", headers: viewer)
            #expect(page["next"]?.doubleValue != nil)
            _ = try await call(.get, "/api/orgs/haff/activity?limit=0", route: "/api/orgs/{org}/activity", headers: viewer)
            _ = try await call(.get, "/api/orgs/haff/spend", route: "/api/orgs/{org}/spend", headers: viewer)
            _ = try await call(.get, "/api/orgs/haff/spend?day=yesterday", route: "/api/orgs/{org}/spend", headers: viewer)

            _ = try await call(.post, "/api/orgs/haff/query", route: "/api/orgs/{org}/query", headers: viewer, #"{"objectType": "crm_contact"}"#)
            _ = try await call(.post, "/api/orgs/haff/query", route: "/api/orgs/{org}/query", headers: viewer,
                               #"{"objectType": "crm_contact", "aggregate": {"type": "count"}, "groupBy": "status"}"#)
            let bad = try await call(.post, "/api/orgs/haff/query", route: "/api/orgs/{org}/query", headers: viewer, #"{"objectType": "crm_contact", "limit": "x"}"#)
            #expect(bad["error"]?["field"]?.stringValue == "limit")
            _ = try await call(.post, "/api/orgs/haff/chat", route: "/api/orgs/{org}/chat", headers: op, #"{"text": "Wie viele Kontakte haben wir?"}"#)
            _ = try await call(.get, "/api/orgs/kite/sessions", route: "/api/orgs/{org}/sessions", headers: viewer)
            return checked
        }
        for route in OpenAPIDocument.routes {
            guard route.answers.contains(where: { $0.status == 200 }), case .json = route.answers.first(where: { $0.status == 200 })?.content else { continue }
            #expect(checked.contains("\(route.method) \(route.path) 200"), "\(route.method) \(route.path) was never answered 200 in this test")
        }
    }

    /// The first Twilio form of the samples, signed with the test server's auth token.
    static func signedTwilioForm() throws -> (form: String, signature: String) {
        let text = try String(contentsOf: WebhookTests.samples.appendingPathComponent("twilio/inbound_sms_form_bodies.txt"), encoding: .utf8)
        let line: Substring = try #require(text.split(separator: "\n").first { !$0.hasPrefix("#") && $0.contains("=") })
        let form: String = line.trimmingCharacters(in: CharacterSet.whitespaces)
        var params: [(String, String)] = []
        for pair in form.split(separator: "&") {
            let parts: [String] = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            params.append((parts[0], parts.count > 1 ? parts[1] : ""))
        }
        params.sort { $0.0 < $1.0 }
        let signed: String = "https://purser.example.org/webhooks/twilio" + params.map { $0.0 + $0.1 }.joined()
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(signed.utf8), using: SymmetricKey(data: Data(Server.twilioToken.utf8)))
        return (form, Data(mac).base64EncodedString())
    }

    /// No body in the document is a bare `{"type": "object"}`: every object names its properties,
    /// or says what it holds and that its members are open.
    @Test func noBareObjectSchemas() {
        var bare: [String] = []
        func walk(_ value: JSONValue, _ path: String) {
            switch value {
            case .object(let members):
                if members["type"]?.stringValue == "object" && members["properties"] == nil
                    && !(members["additionalProperties"]?.boolValue == true && members["description"] != nil) {
                    bare.append(path)
                }
                for (key, member) in members { walk(member, path + "/" + key) }
            case .array(let items):
                for (index, item) in items.enumerated() { walk(item, "\(path)/\(index)") }
            default: break
            }
        }
        walk(OpenAPIDocument.document, "#")
        #expect(bare.isEmpty, "bare object schemas: \(bare)")
    }

    /// The validator itself catches what it is there for (a test that cannot fail proves nothing).
    @Test func validatorRejectsUndescribedMissingAndNullFields() {
        let document = OpenAPIDocument.document
        let schema: JSONValue = ["$ref": "#/components/schemas/WhoAmI"]
        #expect(schemaProblems(["org": "haff", "role": "viewer", "label": "a"], schema, document: document).isEmpty)
        #expect(!schemaProblems(["org": "haff", "role": "viewer"], schema, document: document).isEmpty)
        #expect(!schemaProblems(["org": "haff", "role": "boss", "label": "a"], schema, document: document).isEmpty)
        #expect(!schemaProblems(["org": "haff", "role": "viewer", "label": "a", "extra": 1], schema, document: document).isEmpty)
        #expect(!schemaProblems(["org": .null, "role": "viewer", "label": "a"], schema, document: document).isEmpty)
    }
}
