import Foundation
import PurserCore
import Testing

@Suite struct TimestampGrammarTests {
    static let base: Int64 = 1_795_600_800_000 // 2026-11-25T10:00:00Z

    static let instants: [(String, Int64)] = [
        ("2026-11-25T10:00:00Z", base),
        ("2026-11-25T10:00:00.123Z", base + 123),
        ("2026-11-25T10:00:00,5Z", base + 500),
        ("2026-11-25T10:00:00.123987Z", base + 123), // finer than a millisecond: truncated
        ("2026-11-25t10:00:00z", base),
        ("2026-11-25 10:00:00Z", base),
        ("2026-11-25T10:00Z", base),
        ("2026-11-25T11:00:00+01:00", base),
        ("2026-11-25T05:00:00-0500", base),
        ("2026-11-25T12:00:00+02", base),
        ("2026-11-25T10:00:60Z", base + 59_000), // a leap second reads as :59
        ("2026-11-25", base - 10 * 3_600_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59Z", -1000),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
    ]

    @Test(arguments: instants)
    func instantsParse(_ text: String, _ ms: Int64) {
        #expect(Timestamp(iso8601: text)?.millisecondsSinceEpoch == ms)
    }

    @Test(arguments: ["", "yesterday", "2026-13-01", "2023-02-29", "2026-11-31", "2026-11-25T24:00:00Z",
                      "2026-11-25T10:60:00Z", "2026-11-25T10:00:61Z", "2026-11-25T10:00:00.Z",
                      "2026-11-25T10:00:00Zjunk", "2026-11-25T10:00:00+25:00", "2026-11-25T10:00:00+01:0",
                      "2026-11-25X10:00:00Z", "26-11-25"])
    func malformedIsRefusedByEveryRuleSet(_ text: String) {
        for rules in [Timestamp.Rules.instant, .envelope, .dateTime] {
            #expect(Timestamp.parseMilliseconds(text, rules: rules) == nil, "\(text) under \(rules)")
        }
    }

    @Test func timeWithoutZoneIsRefusedForInstantsButUTCInTheEnvelope() {
        #expect(Timestamp(iso8601: "2026-11-25T10:00:00") == nil)
        #expect(Timestamp.parseMilliseconds("2026-11-25T10:00:00", rules: .envelope) == Self.base)
        #expect(Timestamp.parseMilliseconds("2026-11-25T10:00:00", rules: .dateTime) == nil)
    }

    @Test func channelDateTimesNeedSecondsAndATime() {
        #expect(Timestamp.parseMilliseconds("2026-11-25", rules: .dateTime) == nil)
        #expect(Timestamp.parseMilliseconds("2026-11-25T10:00Z", rules: .dateTime) == nil)
        #expect(Timestamp.parseMilliseconds("2026-11-25T10:00:00Z", rules: .dateTime) == Self.base)
    }

    @Test func fixedWidthFormIsAlways24Bytes() {
        for ms: Int64 in [0, Self.base, Self.base + 7, -1, 253_402_300_799_999] {
            var out: [UInt8] = []
            Timestamp.appendISO(ms, to: &out)
            #expect(out.count == 24)
            #expect(Timestamp.parseMilliseconds(String(decoding: out, as: UTF8.self)) == ms)
        }
        #expect(Timestamp.iso(Self.base + 7) == "2026-11-25T10:00:00.007Z")
        #expect(Timestamp.iso(-1) == "1969-12-31T23:59:59.999Z")
    }

    @Test func shortFormOmitsAZeroFraction() {
        #expect(Timestamp(millisecondsSinceEpoch: Self.base).iso8601 == "2026-11-25T10:00:00Z")
        #expect(Timestamp(millisecondsSinceEpoch: Self.base + 250).iso8601 == "2026-11-25T10:00:00.250Z")
        #expect(Timestamp(millisecondsSinceEpoch: Self.base).utcDay == "2026-11-25")
        #expect(Timestamp.day(-1) == "1969-12-31")
    }

    @Test func codableRoundTrip() throws {
        let value = Timestamp(millisecondsSinceEpoch: Self.base + 1)
        let data = try JSONEncoder().encode([value])
        #expect(String(decoding: data, as: UTF8.self) == #"["2026-11-25T10:00:00.001Z"]"#)
        #expect(try JSONDecoder().decode([Timestamp].self, from: data) == [value])
    }

    @Test func dateConversionRoundsToTheNearestMillisecond() {
        let date = Date(timeIntervalSince1970: 1_795_600_800.123)
        #expect(Timestamp(date).millisecondsSinceEpoch == Self.base + 123)
    }
}
