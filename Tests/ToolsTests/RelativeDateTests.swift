import PurserCore
import PurserDomain
import Testing
@testable import Tools

/// Relative dates resolve against the caller's clock, in UTC, weeks starting Monday.
@Suite struct RelativeDateTests {
    /// Wednesday 2026-11-25 14:30 UTC.
    let now = Timestamp(iso8601: "2026-11-25T14:30:00Z")!

    @Test(arguments: [
        ("-7d", "2026-11-18T14:30:00Z"), ("+2w", "2026-12-09T14:30:00Z"), ("-6M", "2026-05-25T14:30:00Z"),
        ("-1y", "2025-11-25T14:30:00Z"), ("-3h", "2026-11-25T11:30:00Z"), ("now", "2026-11-25T14:30:00Z"),
        ("startOfDay", "2026-11-25T00:00:00Z"), ("startOfWeek", "2026-11-23T00:00:00Z"),
        ("startOfMonth", "2026-11-01T00:00:00Z"), ("startOfYear", "2026-01-01T00:00:00Z"),
        ("startOfMonth-1M", "2026-10-01T00:00:00Z"), ("startOfDay+1d", "2026-11-26T00:00:00Z"),
    ])
    func resolves(text: String, expected: String) {
        #expect(RelativeDate.resolve(text, now: now) == Timestamp(iso8601: expected))
    }

    @Test(arguments: ["", "7d", "-7x", "-d", "-12345d", "startOfWeek-", "yesterday", "-7d'; DROP TABLE objects; --"])
    func refusesOutsideTheGrammar(text: String) {
        #expect(RelativeDate.resolve(text, now: now) == nil)
    }
}
