import Foundation
import GRDB
import PostgresNIO
import PostgresReadModels
import PostgresStore
import PostgresTestSupport
import Projection
import PurserCore

/// A model's rows in both stores as comparable lines, `table:value|value|…` (NULL as ∅), ordered
/// by the columns given, so a differential test compares a SQLite model with its PostgreSQL twin
/// whole. Texts and integers only: the two servers print doubles and booleans differently, so a
/// test compares those columns decoded.
enum ModelDump {
    /// `(table, columns)`: the columns compared, which are also the order.
    typealias Tables = [(table: String, columns: String)]

    /// The SQLite model caught up with its source, then dumped.
    static func sqlite(_ model: ProjectionStore, _ tables: Tables) async throws -> [String] {
        try await BlockingIO.run { () throws(any Error) -> [String] in
            _ = try model.catchUp()
            return try model.read { db in
                var out: [String] = []
                for (table, columns) in tables {
                    let cast = columns.split(separator: ",").map { "CAST(\($0) AS TEXT)" }.joined(separator: ", ")
                    for row in try Row.fetchAll(db, sql: "SELECT \(cast) FROM \(table) ORDER BY \(columns)") {
                        out.append(table + ":" + (0..<row.count).map { (row[$0] as String?) ?? "∅" }.joined(separator: "|"))
                    }
                }
                return out
            }
        }
    }

    /// The live schema of the PostgreSQL model, read as psql would.
    static func postgres(_ model: PostgresReadModel, _ url: PostgresURL, _ tables: Tables) async throws -> [String] {
        let schema = try await model.liveSchema()
        return try await TestDatabase.withClient(url) { client in
            var out: [String] = []
            for (table, columns) in tables {
                let names = columns.split(separator: ",").map { "t." + $0.trimmingCharacters(in: .whitespaces) }
                // Qualified, so the order is the columns' own (a cast's output takes the column's name).
                let cast = names.map { "(\($0))::text" }.joined(separator: ", ")
                let sql = "SELECT \(cast) FROM \"\(schema)\".\(table) t ORDER BY \(names.joined(separator: ", "))"
                for try await row in try await client.query(PostgresQuery(unsafeSQL: sql)) {
                    let cells = row.makeRandomAccess()
                    out.append(table + ":" + (try (0..<cells.count).map { try cells[$0].decode(String?.self) ?? "∅" }.joined(separator: "|")))
                }
            }
            return out
        }
    }
}
