import Foundation
import GRDB
import PurserCore
import PurserDomain
import Testing
@testable import Tools

/// Injection attempts are refused or treated as data, and one org never sees another's rows.
@Suite struct QuerySafetyTests {
    static let now = Timestamp(iso8601: "2026-11-25T14:30:00Z")!

    static func objects(priceBase: Double) -> [TestObject] {
        [
            TestObject(id: "c_1", type: "crm_contact", subtype: "customer", name: "Lisa K.", status: "active",
                       customProperties: ["totalSpent": .number(priceBase), "country": "DE", "x": "a' OR 1=1 --"],
                       createdAt: "2026-11-20T09:00:00Z", updatedAt: "2026-11-20T09:00:00Z"),
            TestObject(id: "b_1", type: "booking", subtype: nil, name: "Sailing", status: "confirmed",
                       customProperties: ["price": .number(priceBase), "course": "sailing"],
                       createdAt: "2026-11-21T09:00:00Z", updatedAt: "2026-11-21T09:00:00Z"),
            TestObject(id: "b_2", type: "booking", subtype: nil, name: "Kayak", status: "confirmed",
                       customProperties: ["price": .number(priceBase * 2), "course": "kayak"],
                       createdAt: "2026-11-22T09:00:00Z", updatedAt: "2026-11-22T09:00:00Z"),
        ]
    }

    static func store() throws -> DatabaseQueue {
        let links = [TestLink(from: "c_1", linkType: "bookings", to: "b_1"), TestLink(from: "c_1", linkType: "bookings", to: "b_2")]
        // org_b: the same ids and data, plus an extra booking and a link only it has.
        var theirs = objects(priceBase: 1000)
        theirs.append(TestObject(id: "b_3", type: "booking", subtype: nil, name: "Secret", status: "confirmed",
                                 customProperties: ["price": 5000, "course": "sailing"],
                                 createdAt: "2026-11-23T09:00:00Z", updatedAt: "2026-11-23T09:00:00Z"))
        return try CRMStore.make([
            "org_a": (objects(priceBase: 100), links),
            "org_b": (theirs, links + [TestLink(from: "c_1", linkType: "bookings", to: "b_3"), TestLink(from: "b_1", linkType: "secret", to: "c_1")]),
        ])
    }

    func run(_ text: String, org: OrgID = "org_a") throws -> JSONValue {
        DataQueryEngine(reader: try Self.store()).execute(arguments: try JSONValue(parsing: text), org: org, now: Self.now)
    }

    @Test(arguments: [
        #"{"objectType":"booking","filters":[{"field":"customProperties.x') OR 1=1 --","op":"exists"}]}"#,
        #"{"objectType":"booking","filters":[{"field":"customProperties.price\" OR 1=1","op":"eq","value":1}]}"#,
        #"{"objectType":"booking","filters":[{"field":"customProperties.$.price","op":"eq","value":1}]}"#,
        #"{"objectType":"booking","filters":[{"field":"customProperties.a[0]","op":"eq","value":1}]}"#,
        #"{"objectType":"booking","filters":[{"field":"customProperties.a..b","op":"eq","value":1}]}"#,
        #"{"objectType":"booking","filters":[{"field":"customProperties.*","op":"eq","value":1}]}"#,
        #"{"objectType":"booking","filters":[{"field":"customProperties.","op":"eq","value":1}]}"#,
        #"{"objectType":"booking","filters":[{"field":"name; DROP TABLE objects","op":"eq","value":"x"}]}"#,
        #"{"objectType":"booking","filters":[{"field":"org","op":"eq","value":"org_b"}]}"#,
        #"{"objectType":"booking","sort":[{"field":"price DESC; --","dir":"asc"}]}"#,
        #"{"objectType":"booking","sort":[{"field":"createdAt","dir":"desc; DROP TABLE objects"}]}"#,
        #"{"objectType":"booking","groupBy":"status) FROM objects --"}"#,
        #"{"objectType":"booking","aggregate":{"type":"sum","field":"customProperties.price) FROM objects WHERE org='org_b' --"}}"#,
        #"{"objectType":"booking","aggregate":{"type":"sum(price)"}}"#,
        #"{"objectType":"booking","includeRelated":["bookings' OR 1=1 --"]}"#,
        #"{"objectType":"booking","filters":[{"field":"status","op":"= 1 OR","value":"x"}]}"#,
        #"{"objectType":"booking","org":"org_b"}"#,
    ])
    func injectionThroughNamesIsRefused(text: String) throws {
        let result = try run(text)
        #expect(result["error"]?["code"]?.stringValue != nil, "\(result.serialized())")
        #expect(result["items"] == nil)
    }

    @Test(arguments: [
        #"{"objectType":"booking","filters":[{"field":"name","op":"eq","value":"x' OR '1'='1"}]}"#,
        #"{"objectType":"booking","filters":[{"field":"name","op":"in","value":["' OR 1=1 --","\" OR \"\"=\""]}]}"#,
        #"{"objectType":"booking' OR '1'='1"}"#,
        #"{"objectType":"booking","filters":[{"field":"customProperties.course","op":"contains","value":"%' OR 1=1 --"}]}"#,
        #"{"objectType":"booking","filters":[{"field":"customProperties.course","op":"startsWith","value":"'); DROP TABLE objects; --"}]}"#,
    ])
    func injectionThroughValuesIsData(text: String) throws {
        let result = try run(text)
        #expect(result["error"] == nil, "\(result.serialized())")
        #expect(result["total"] == 0)
        // The table is still there and still answers.
        #expect(try run(#"{"objectType":"booking"}"#)["total"] == 2)
    }

    @Test func aQuotedValueMatchesItsOwnRow() throws {
        let result = try run(#"{"objectType":"crm_contact","filters":[{"field":"customProperties.x","op":"eq","value":"a' OR 1=1 --"}]}"#)
        #expect(result.itemIDs == ["c_1"])
    }

    @Test(arguments: [
        #"{"objectType":"booking"}"#,
        #"{"objectType":"booking","aggregate":{"type":"count"}}"#,
        #"{"objectType":"booking","aggregate":{"type":"sum","field":"customProperties.price"}}"#,
        #"{"objectType":"booking","aggregate":{"type":"max","field":"customProperties.price"}}"#,
        #"{"objectType":"booking","aggregate":{"type":"sum","field":"customProperties.price"},"groupBy":"customProperties.course"}"#,
        #"{"objectType":"booking","filters":[{"field":"id","op":"in","value":["b_1","b_2","b_3"]}],"limit":200}"#,
        #"{"objectType":"booking","filters":[{"field":"customProperties.price","op":"gte","value":1000}]}"#,
        #"{"objectType":"crm_contact","includeRelated":["bookings","secret","booking"]}"#,
        #"{"objectType":"booking","includeRelated":["contact","bookings","secret"]}"#,
    ])
    func orgsNeverSeeEachOther(text: String) throws {
        let mine = try run(text, org: "org_a")
        let serialized = mine.serialized()
        #expect(!serialized.contains("b_3") && !serialized.contains("Secret") && !serialized.contains("1000") && !serialized.contains("5000"),
                "\(serialized)")
        #expect(mine["error"] == nil)
        if let total = mine["total"]?.intValue { #expect(total <= 2) }
        if let sum = mine["aggregate"]?["value"]?.doubleValue { #expect(sum <= 300) }
        for group in mine["groups"]?.arrayValue ?? [] { #expect((group["value"]?.doubleValue ?? 0) <= 200) }
        // And org_b sees its own extra row where it applies.
        let theirs = try run(text, org: "org_b")
        #expect(theirs["error"] == nil)
    }

    @Test func relatedFollowsLinksBothWaysWithinTheOrg() throws {
        let bookings = try run(#"{"objectType":"booking","includeRelated":["contact"],"sort":[{"field":"id"}]}"#)
        let items = bookings["items"]?.arrayValue ?? []
        #expect(items.count == 2)
        #expect(items.first?["related"]?["contact"]?.arrayValue?.map { $0["id"] } == ["c_1"])
        let contacts = try run(#"{"objectType":"crm_contact","includeRelated":["bookings"]}"#)
        #expect(contacts["items"]?[0]?["related"]?["bookings"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["b_1", "b_2"])
    }
}
