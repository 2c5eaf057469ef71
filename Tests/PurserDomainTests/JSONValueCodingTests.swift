import Foundation
import PurserCore
import Testing
@testable import PurserDomain

/// `JSONValue` (PurserCore) as the domain uses it: Codable conversion with the domain's errors.
@Suite("JSONValue coding")
struct JSONValueCodingTests {
    @Test("converts Codable values")
    func codableConversion() throws {
        let link = ObjectLink(from: "c_1", to: "b_1", linkType: "bookings")
        let value = try JSONValue(encoding: link)
        #expect(value == ["from": "c_1", "to": "b_1", "linkType": "bookings"])
        #expect(try value.decode(ObjectLink.self) == link)
        #expect(throws: DomainError.self) { try JSONValue.string("x").decode(ObjectLink.self) }
    }
}

@Suite("Timestamp")
struct TimestampTests {
    @Test("parses ISO-8601 forms", arguments: [
        ("2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z"),
        ("2026-11-25T10:00:00.123Z", "2026-11-25T10:00:00.123Z"),
        ("2026-11-25T10:00:00.1Z", "2026-11-25T10:00:00.100Z"),
        ("2026-11-25T10:00:00.123456789Z", "2026-11-25T10:00:00.123Z"),
        ("2026-11-25T11:00:00+01:00", "2026-11-25T10:00:00Z"),
        ("2026-11-25T05:30:00-0430", "2026-11-25T10:00:00Z"),
        ("2026-11-25 10:00Z", "2026-11-25T10:00:00Z"),
        ("2026-11-25", "2026-11-25T00:00:00Z"),
        ("2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
    ])
    func parses(input: String, expected: String) throws {
        let timestamp = try Timestamp.parse(input)
        #expect(timestamp.iso8601 == expected)
        #expect(Timestamp(iso8601: timestamp.iso8601) == timestamp)
    }

    @Test("refuses what is not a timestamp", arguments: [
        "", "01.03.2025", "2026-13-01", "2025-02-29", "2026-11-25T10:00:00", "2026-11-25T24:00:00Z",
        "2026-11-25T10:00:00.Z", "2026-11-25T10:00:00Zjunk", "yesterday",
    ])
    func refuses(input: String) {
        #expect(Timestamp(iso8601: input) == nil)
        let error = #expect(throws: DomainError.self) { try Timestamp.parse(input) }
        #expect(error?.code == .invalidTimestamp)
    }

    @Test("knows its UTC day and converts to Date")
    func utcDayAndDate() {
        let late = Timestamp(iso8601: "2026-11-25T23:30:00-02:00")!
        #expect(late.utcDay == "2026-11-26")
        #expect(Timestamp(iso8601: "1970-01-01T00:00:00Z")!.millisecondsSinceEpoch == 0)
        #expect(Timestamp(late.date) == late)
        #expect(late.adding(seconds: 1.5).millisecondsSinceEpoch == late.millisecondsSinceEpoch + 1500)
        #expect(Timestamp(iso8601: "2026-01-01")! < late)
    }

    @Test("codes as an ISO-8601 string")
    func codable() throws {
        let stamp = Timestamp(iso8601: "2026-11-25T10:00:00.123Z")!
        let data = try JSONEncoder().encode([stamp])
        #expect(String(decoding: data, as: UTF8.self) == #"["2026-11-25T10:00:00.123Z"]"#)
        #expect(try JSONDecoder().decode([Timestamp].self, from: data) == [stamp])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Timestamp].self, from: Data(#"["soon"]"#.utf8)) }
    }
}
