import ArgumentParser
import PostgresReadModels
import Projection
import PurserDomain
import ReadModelCatalog

struct ProjectionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "Read models: versions, checkpoints and lag; rebuild.",
        subcommands: [ProjectionsStatus.self, ProjectionsCatchUp.self, ProjectionsRebuild.self]
    )

    /// Refuses a name no read model has, listing the known ones.
    static func validate(names: [String]) throws {
        let known = ReadModelCatalog.projectors.map(\.name)
        for name in names where !known.contains(name) {
            throw ValidationError("no read model is named \"\(name)\"; known: \(known.joined(separator: ", "))")
        }
    }

    /// Catches up (or rebuilds) the read models named (all when none are) in parallel and prints
    /// one JSON line per model; a catch-up also says whether and why it rebuilt. With
    /// `--database`, the models under `--data` are fed from the PostgreSQL store.
    static func run(_ global: GlobalOptions, _ database: DatabaseOptions, names: [String], rebuild: Bool) async throws {
        let (reports, perOrg) = try await ReadModels.withSource(global, database) { source in
            let stores = try ReadModels.set(global, source: source).select(names)
            return (try ProjectionSet.runBlocking(stores, rebuild: rebuild), source.isStore)
        }
        for r in reports {
            var fields: [String: JSONValue?] = [
                "name": .string(r.name), "eventsScanned": .number(Double(r.eventsScanned)), "eventsApplied": .number(Double(r.eventsApplied)),
                "eventsSkipped": .number(Double(r.eventsSkipped)), "checkpoint": .number(Double(r.checkpoint)),
                "seconds": .number((r.seconds * 1000).rounded() / 1000),
            ]
            if perOrg { fields["checkpoints"] = positions(r.orgCheckpoints) }
            if !rebuild {
                fields["rebuilt"] = .bool(r.rebuilt)
                fields["rebuildReason"] = r.rebuildReason.map(JSONValue.string)
            }
            Output.line(JSONValue.from(fields).serialized())
        }
        if let url = try database.given() {
            // The models named that are kept in PostgreSQL too (all of them when none are named).
            let inDatabase = names.filter { name in PostgresReadModelCatalog.projectors.contains { $0.name == name } }
            if !names.isEmpty && inDatabase.isEmpty { return }
            let lines = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.projections") { store in
                try await DatabaseModels.run(store, names: inDatabase, rebuild: rebuild)
            }
            for line in lines { Output.line(line.serialized()) }
        }
    }

    /// Per-org positions as a JSON object.
    static func positions(_ map: [String: UInt64]) -> JSONValue {
        .object(map.mapValues { .number(Double($0)) })
    }
}
