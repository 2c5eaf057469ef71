import Foundation
import Testing
@testable import PurserDomain

@Suite("Ontology")
struct OntologyTests {
    let parser = OntologyLineParser()

    @Test("imports good lines and reports every bad line with its number, then keeps going")
    func mixedFile() {
        let lines = [
            #"{"id": "c_17", "type": "crm_contact", "subtype": "customer", "name": "Lisa K.", "status": "active", "customProperties": {"email": "lisa@example.de", "phone": "+491609876543", "country": "DE", "totalSpent": 450.0}, "createdAt": "2025-03-01T09:00:00Z"}"#,
            #"{"link": {"from": "c_17", "to": "b_90", "linkType": "bookings"}}"#,
            "",
            #"{"id": "b_90", "type": "booking", "customProperties": {"startsAt": "2026-11-30"}"#,
            #"{"type": "booking", "customProperties": []}"#,
            #"{"id": "b_91", "type": "booking", "createdAt": "01.03.2025"}"#,
            #"{"link": {"from": "c_17", "to": "b_91"}}"#,
            #"[1, 2]"#,
            #"{"id": "b_92", "type": "booking", "status": "confirmed", "_id": "xyz", "organizationId": "haff"}"#,
            "   ",
            #"{"id": 5, "type": ""}"#,
            #"{"id": "p_1", "type": "product", "name": "SBF Binnen", "updatedAt": "2026-01-02T03:04:05.678+01:00"}"#,
        ]
        let report = parser.parse(lines.joined(separator: "\r\n"))

        #expect(report.records.map(\.lineNumber) == [1, 2, 9, 12])
        #expect(report.objects.map(\.id) == ["c_17", "b_92", "p_1"])
        #expect(report.links == [ObjectLink(from: "c_17", to: "b_90", linkType: "bookings")])
        #expect(report.rejected.map(\.lineNumber) == [4, 5, 6, 7, 8, 11])

        let reasons = Dictionary(uniqueKeysWithValues: report.rejected.map { ($0.lineNumber, $0.reason) })
        #expect(reasons[4]?.contains("not valid JSON") == true)
        #expect(reasons[4]?.contains("column") == true)
        #expect(reasons[5]?.contains("\"id\" is missing") == true)
        #expect(reasons[5]?.contains("\"customProperties\" must be a JSON object, found array") == true)
        #expect(reasons[6]?.contains("'01.03.2025'") == true)
        #expect(reasons[6]?.contains("2025-03-01T09:00:00Z") == true)
        #expect(reasons[7]?.contains("linkType") == true)
        #expect(reasons[8]?.contains("found array") == true)
        #expect(reasons[11]?.contains("\"id\" must be a string, found number") == true)
        #expect(reasons[11]?.contains("\"type\" is empty") == true)
        #expect(report.rejected.first?.description.hasPrefix("line 4: ") == true)

        #expect(report.warnings.map(\.lineNumber) == [9, 9])
        #expect(report.warnings.contains { $0.reason.contains("\"_id\"") })
        #expect(report.warnings.contains { $0.reason.contains("organizationId") && $0.reason.contains("the org is the one given") })

        let contact = report.objects[0]
        #expect(contact.customProperties["totalSpent"] == 450)
        #expect(contact.createdAt?.iso8601 == "2025-03-01T09:00:00Z")
        #expect(contact.updatedAt == nil)
        #expect(report.objects[2].updatedAt?.iso8601 == "2026-01-02T02:04:05.678Z")
        #expect(report.objects[1].customProperties == .emptyObject)
    }

    @Test("line outcomes one at a time", arguments: [
        ("", OntologyLineOutcome.blank),
        (" \t ", .blank),
        (#"{"link": {"from": "a", "to": "b", "linkType": "x"}}"#, .record(.link(ObjectLink(from: "a", to: "b", linkType: "x")), warnings: [])),
        (#"{"id": "a", "type": "t"}"#, .record(.object(OntologyObject(id: "a", type: "t")), warnings: [])),
        (#"{"link": "a->b"}"#, .rejected(reasons: [#""link" must be an object {"from", "to", "linkType"}, found string"#])),
    ])
    func singleLines(line: String, expected: OntologyLineOutcome) {
        #expect(parser.parseLine(line) == expected)
    }

    @Test("a file whose last line has no newline, and a BOM")
    func edges() {
        let report = parser.parse(Data("\u{FEFF}{\"id\": \"a\", \"type\": \"t\"}\n{\"id\": \"b\", \"type\": \"t\"}".utf8))
        #expect(report.objects.map(\.id) == ["a", "b"])
        #expect(report.rejected.isEmpty)
        #expect(parser.parse("").records.isEmpty)
    }

    @Test("query fields reach top-level fields and custom properties")
    func queryFields() {
        let contact = Fixtures.contact
        #expect(contact.value(forField: "status") == "active")
        #expect(contact.value(forField: "createdAt") == "2025-03-01T09:00:00Z")
        #expect(contact.value(forField: "updatedAt") == nil)
        #expect(contact.value(forField: "customProperties.totalSpent") == 450)
        #expect(contact.value(forField: "customProperties.address.city") == "Ueckermünde")
        #expect(contact.value(forField: "customProperties.tags.0") == "sbf")
        #expect(contact.value(forField: "customProperties.nope") == nil)
        #expect(contact.value(forField: "organizationId") == nil)
    }

    @Test("the same id in two orgs names two objects")
    func orgScoping() {
        let a = Fixtures.contact.key(in: "haff")
        let b = Fixtures.contact.key(in: "other")
        #expect(a != b)
        #expect(Set([a, b, Fixtures.contact.key(in: "haff")]).count == 2)
        #expect(a.description == "haff/c_17")
    }

    @Test("objects code without an org, with defaults for absent members")
    func objectCodable() throws {
        let data = try JSONEncoder().encode(Fixtures.contact)
        let json = try JSONValue(parsing: data)
        #expect(json["organizationId"] == nil)
        #expect(json["updatedAt"] == nil)
        #expect(try JSONDecoder().decode(OntologyObject.self, from: data) == Fixtures.contact)
        let minimal = try JSONDecoder().decode(OntologyObject.self, from: Data(#"{"id": "x", "type": "t"}"#.utf8))
        #expect(minimal.customProperties == .emptyObject)
    }
}
