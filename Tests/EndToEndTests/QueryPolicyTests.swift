import Foundation
import PurserCore
import PurserTestSupport
import Testing

@Suite struct QueryPolicyTests {
    /// Two orgs hold objects with the same ids; `purser query` for one never sees the other's.
    @Test func queryAnswersFromTheNamedOrgOnly() throws {
        let dir = TempDir()
        let file = dir.path + "/objects.jsonl"
        for (org, price) in [("haff", 450), ("rival", 9999)] {
            try """
            {"id":"b_1","type":"booking","name":"Kurs","status":"confirmed","customProperties":{"price":\(price)}}
            {"id":"b_2","type":"booking","name":"Kurs 2","status":"pending","customProperties":{"price":\(price)}}
            """.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try purser(["objects", "import", "--org", org, file], data: dir.path).status == 0)
        }
        let sum = try purser(["query", "--org", "haff", #"{"objectType":"booking","aggregate":{"type":"sum","field":"customProperties.price"}}"#], data: dir.path)
        #expect(sum.status == 0)
        let aggregate = sum.lines.first?["aggregate"] as? [String: Any]
        #expect(aggregate?["value"] as? Double == 900)
        let nobody = try purser(["query", "--org", "nobody", #"{"objectType":"booking"}"#], data: dir.path)
        #expect(nobody.lines.first?["total"] as? Int == 0)
        let bad = try purser(["query", "--org", "haff", #"{"objectType":"booking","filters":[{"field":"status') OR 1=1 --","op":"eq","value":1}]}"#], data: dir.path)
        #expect(bad.status == 2)
        #expect((bad.lines.first?["error"] as? [String: Any])?["field"] as? String == "filters[0].field")
    }

    @Test func policyExplainNamesTheDecidingRule() throws {
        let dir = TempDir()
        #expect(try purser(["demo"], data: dir.path).status == 0)
        let held = try purser(["policy", "explain", "--org", "haff", "booking_tool", #"{"action":"create","price":450}"#], data: dir.path)
        #expect(held.lines.first?["decision"] as? String == "needs_approval")
        #expect(held.lines.first?["rule"] as? String == "require_approval_for")
        let denied = try purser(["policy", "explain", "--org", "haff", "bulk_crm_email_tool"], data: dir.path)
        #expect(denied.lines.first?["decision"] as? String == "deny")
        #expect(denied.lines.first?["rule"] as? String == "disabled_tools")
        let other = try purser(["policy", "explain", "--org", "rival", "data_query_tool"], data: dir.path)
        #expect(other.status == 1)
    }
}
