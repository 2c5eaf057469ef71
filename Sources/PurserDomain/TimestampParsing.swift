import PurserCore

extension Timestamp {
    /// `init?(iso8601:)` that says what was wrong.
    public static func parse(_ text: String) throws(DomainError) -> Timestamp {
        guard let value = Timestamp(iso8601: text) else {
            throw DomainError(.invalidTimestamp, "'\(text)' is not an ISO-8601 timestamp; write it like 2026-11-25T10:00:00Z or 2026-11-25")
        }
        return value
    }
}
