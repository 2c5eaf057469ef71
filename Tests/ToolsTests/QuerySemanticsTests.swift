import Foundation
import GRDB
import PurserCore
import PurserDomain
import Testing
@testable import Tools

/// How values compare: timestamps by instant whatever zone they are written in, `contains` and
/// `startsWith` as people type (case and accents folded), `eq` exactly.
@Suite struct QuerySemanticsTests {
    static let now = Timestamp(iso8601: "2026-11-25T14:30:00Z")!

    /// Four bookings whose timestamps sort differently as text and as instants:
    /// b_3 22:00Z Feb 28 < b_2 00:00Z Mar 1 < b_4 00:15Z < b_1 00:30Z (written 23:30-01:00).
    static let bookings: [TestObject] = [
        ("b_1", "2026-02-28T23:30:00-01:00"), ("b_2", "2026-03-01T00:00:00Z"),
        ("b_3", "2026-02-28T22:00:00Z"), ("b_4", "2026-03-01T00:15:00Z"),
    ].map { id, time in
        TestObject(id: id, type: "booking", name: "Booking \(id)", status: "confirmed",
                   customProperties: ["startsAt": .string(time), "course": "sailing"], createdAt: time, updatedAt: time)
    }

    static let contacts: [TestObject] = [
        TestObject(id: "c_1", type: "crm_contact", name: "Berlin Office", customProperties: ["city": "Gdańsk", "tags": ["VIP"]],
                   createdAt: "2026-11-01", updatedAt: "2026-11-01"),
        TestObject(id: "c_2", type: "crm_contact", name: "Anna Müller", customProperties: ["city": "münchen", "tags": ["newsletter"]],
                   createdAt: "2026-11-01", updatedAt: "2026-11-01"),
        TestObject(id: "c_3", type: "crm_contact", name: "Jan", customProperties: ["city": "MÜNCHEN"],
                   createdAt: "2026-11-01", updatedAt: "2026-11-01"),
        // The same city with the accent as a combining mark (NFD), as some keyboards send it.
        TestObject(id: "c_4", type: "crm_contact", name: "Ola", customProperties: ["city": "Gdan\u{301}sk"],
                   createdAt: "2026-11-01", updatedAt: "2026-11-01"),
        TestObject(id: "c_5", type: "crm_contact", name: "Kiel Team", customProperties: ["city": "Kiel"],
                   createdAt: "2026-11-01", updatedAt: "2026-11-01"),
    ]

    func run(_ query: JSONValue) throws -> JSONValue {
        let store = try CRMStore.make(["org_a": (Self.bookings + Self.contacts, [])])
        let result = DataQueryEngine(reader: store).execute(arguments: query, org: "org_a", now: Self.now)
        #expect(result["error"] == nil, "\(result.serialized())")
        return result
    }

    func ids(_ objectType: String, _ filters: [JSONValue] = [], sort: [JSONValue] = []) throws -> [String] {
        try run(["objectType": .string(objectType), "filters": .array(filters), "sort": .array(sort)]).itemIDs
    }

    @Test func timestampFieldsSortByInstantNotText() throws {
        for field in ["customProperties.startsAt", "createdAt", "updatedAt"] {
            #expect(try ids("booking", sort: [["field": .string(field), "dir": "asc"]]) == ["b_3", "b_2", "b_4", "b_1"], "\(field)")
            #expect(try ids("booking", sort: [["field": .string(field), "dir": "desc"]]) == ["b_1", "b_4", "b_2", "b_3"], "\(field)")
        }
        // Groups by a timestamp field come in the same (instant) order.
        let grouped = try run(["objectType": "booking", "groupBy": "customProperties.startsAt"])
        #expect((grouped["groups"]?.arrayValue ?? []).compactMap { $0["key"]?.stringValue }
            == ["2026-02-28T22:00:00Z", "2026-03-01T00:00:00Z", "2026-03-01T00:15:00Z", "2026-02-28T23:30:00-01:00"])
    }

    @Test func timestampRangeFiltersCompareInstantsNotText() throws {
        for field in ["customProperties.startsAt", "createdAt"] {
            func filtered(_ op: String, _ value: String) throws -> [String] {
                try ids("booking", [["field": .string(field), "op": .string(op), "value": .string(value)]], sort: [["field": "id"]])
            }
            // As text, "2026-02-28T23:30:00-01:00" is before every March value; as an instant it is after them.
            #expect(try filtered("gt", "2026-03-01T00:00:00Z") == ["b_1", "b_4"], "\(field)")
            #expect(try filtered("gte", "2026-03-01T00:15:00Z") == ["b_1", "b_4"], "\(field)")
            #expect(try filtered("lt", "2026-03-01T00:15:00Z") == ["b_2", "b_3"], "\(field)")
            #expect(try filtered("lte", "2026-02-28T23:59:59Z") == ["b_3"], "\(field)")
            // The bound may carry an offset too: 01:00+01:00 is 00:00Z.
            #expect(try filtered("lte", "2026-03-01T01:00:00+01:00") == ["b_2", "b_3"], "\(field)")
            // eq compares the instant, however either side writes it.
            #expect(try filtered("eq", "2026-03-01T00:30:00Z") == ["b_1"], "\(field)")
        }
    }

    @Test func containsAndStartsWithIgnoreCaseAndAccents() throws {
        func filtered(_ field: String, _ op: String, _ value: String) throws -> [String] {
            try ids("crm_contact", [["field": .string(field), "op": .string(op), "value": .string(value)]], sort: [["field": "id"]])
        }
        #expect(try filtered("name", "contains", "berlin") == ["c_1"])
        #expect(try filtered("name", "contains", "MULLER") == ["c_2"])
        #expect(try filtered("name", "startsWith", "kiel") == ["c_5"])
        #expect(try filtered("customProperties.city", "contains", "gdansk") == ["c_1", "c_4"])
        #expect(try filtered("customProperties.city", "contains", "GDAŃSK") == ["c_1", "c_4"])
        #expect(try filtered("customProperties.city", "startsWith", "MÜNCHEN") == ["c_2", "c_3"])
        #expect(try filtered("customProperties.city", "startsWith", "munch") == ["c_2", "c_3"])
        // A prefix test still: "chen" is inside "münchen" but does not start it.
        #expect(try filtered("customProperties.city", "startsWith", "chen") == [])
        // Array elements compare folded too (still whole elements).
        #expect(try filtered("customProperties.tags", "contains", "vip") == ["c_1"])
        #expect(try filtered("customProperties.tags", "contains", "vi") == [])
    }

    @Test func eqStaysExactWhileContainsFolds() throws {
        func filtered(_ field: String, _ op: String, _ value: String) throws -> [String] {
            try ids("crm_contact", [["field": .string(field), "op": .string(op), "value": .string(value)]], sort: [["field": "id"]])
        }
        #expect(try filtered("customProperties.city", "eq", "münchen") == ["c_2"])
        #expect(try filtered("customProperties.city", "eq", "Munchen") == [])
        #expect(try filtered("customProperties.city", "eq", "gdańsk") == [])
        #expect(try filtered("name", "eq", "berlin office") == [])
        #expect(try filtered("name", "eq", "Berlin Office") == ["c_1"])
    }
}
