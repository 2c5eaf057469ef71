import Foundation
import PostgresReadModels
import PostgresStore
import PurserCore

/// The read models kept in PostgreSQL, as `purser projections` shows and builds them beside the
/// node's SQLite models (docs/POSTGRES.md, "Read models").
enum DatabaseModels {
    static func models(_ store: PostgresEventStore, names: [String] = []) -> [PostgresReadModel] {
        PostgresReadModelCatalog.projectors.filter { names.isEmpty || names.contains($0.name) }
            .map { PostgresReadModel(projector: $0, store: store, logger: LogSetup.logger("purser.projections", level: .info)) }
    }

    /// One JSON line per model in the database: `store` is "postgres", `schema` the live schema.
    static func statusLines(_ store: PostgresEventStore) async throws -> [JSONValue] {
        var lines: [JSONValue] = []
        for model in models(store) {
            let s = try await model.status()
            lines.append(JSONValue.from([
                "name": .string(s.name), "store": "postgres", "schemaVersion": .number(Double(s.schemaVersion)),
                "storedSchemaVersion": s.storedSchemaVersion.map { .number(Double($0)) } ?? .null,
                "schema": s.schema.map(JSONValue.string) ?? .null,
                "checkpoint": .number(Double(s.checkpoint)), "logHead": .number(Double(s.logHead)), "lag": .number(Double(s.lag)),
                "needsRebuild": .bool(s.needsRebuild),
                "checkpoints": ProjectionsCommand.positions(s.checkpoints), "heads": ProjectionsCommand.positions(s.heads),
            ]))
        }
        return lines
    }

    /// Catches up (building where needed) or rebuilds the models named (all for none).
    static func run(_ store: PostgresEventStore, names: [String], rebuild: Bool) async throws -> [JSONValue] {
        var lines: [JSONValue] = []
        for model in models(store, names: names) {
            let r = rebuild ? try await model.rebuild() : try await model.prepare()
            var fields: [String: JSONValue?] = [
                "name": .string(r.name), "store": "postgres", "eventsScanned": .number(Double(r.eventsScanned)),
                "eventsApplied": .number(Double(r.eventsApplied)), "eventsSkipped": .number(Double(r.eventsSkipped)),
                "schema": .string(try await model.liveSchema()), "seconds": .number((r.seconds * 1000).rounded() / 1000),
            ]
            if !rebuild { fields["rebuilt"] = .bool(r.rebuilt) }
            lines.append(JSONValue.from(fields))
        }
        return lines
    }
}
