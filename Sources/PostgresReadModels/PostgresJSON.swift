import Logging
import PostgresNIO
import PurserCore

/// How the projectors hand PostgreSQL a batch of rows: one JSON array, unpacked by
/// `json_to_recordset` in one set-based statement (`$1` the org, `$2` the array), so a batch costs
/// a few statements whatever its size. Numbers go as JSON numbers, which Purser writes in the
/// shortest form that reads back as the same double, so sums stay exact.
enum PostgresJSON {
    /// PostgreSQL's text and `jsonb` cannot hold U+0000; it is stored as U+FFFD.
    static func storable(_ text: String) -> String {
        text.utf8.contains(0) ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }

    /// One record: texts (nil: JSON null) made storable, and numbers.
    static func record(_ texts: [String: String?], numbers: [String: Double] = [:]) -> JSONValue {
        var members: [String: JSONValue] = [:]
        for (key, value) in texts { members[key] = value.map { .string(storable($0)) } ?? .null }
        for (key, value) in numbers { members[key] = .number(value) }
        return .object(members)
    }

    /// Runs `sql` with the org as `$1` and `records` as the JSON array `$2`.
    static func execute(_ sql: String, org: String, records: [JSONValue], on connection: PostgresConnection, logger: Logger) async throws {
        var binds = PostgresBindings()
        binds.append(org)
        binds.append(JSONValue.array(records).serialized())
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }
}
