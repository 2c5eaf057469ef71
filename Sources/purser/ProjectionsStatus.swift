import ArgumentParser
import Foundation
import Projection
import PurserDomain

struct ProjectionsStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "One JSON line per read model: name, schema versions, checkpoint, log head, lag.",
        discussion: "Changes nothing. storedSchemaVersion is null for a model never built; needsRebuild says whether the next catch-up rebuilds it (schema version changed, checkpoint beyond the source's end, or sourceChanged: built from another source). With --database (or PURSER_DATABASE_URL) the models under --data are measured against the PostgreSQL store: checkpoints and heads per org, checkpoint and logHead their sums, lag the positions not yet applied; the models kept in PostgreSQL itself follow, one line each with store \"postgres\" and schema, the live schema."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        _ = try database.given()
    }

    func run() async throws {
        let (statuses, perOrg) = try await ReadModels.withSource(global, database) { source in
            (try ReadModels.set(global, source: source).stores.map { try $0.status() }, source.isStore)
        }
        for s in statuses {
            var fields: [String: JSONValue?] = [
                "name": .string(s.name), "schemaVersion": .number(Double(s.schemaVersion)),
                "storedSchemaVersion": s.storedSchemaVersion.map { .number(Double($0)) } ?? .null,
                "checkpoint": .number(Double(s.checkpoint)), "logHead": .number(Double(s.logHead)), "lag": .number(Double(s.lag)),
                "skippedEvents": .number(Double(s.skippedEvents)), "needsRebuild": .bool(s.needsRebuild), "path": .string(s.path),
                "source": .string(s.source), "sourceChanged": .bool(s.sourceChanged),
            ]
            if perOrg {
                fields["checkpoints"] = ProjectionsCommand.positions(s.orgCheckpoints)
                fields["heads"] = ProjectionsCommand.positions(s.orgHeads)
            }
            Output.line(JSONValue.from(fields).serialized())
        }
        if let url = try database.given() {
            let lines = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.projections") { store in
                try await DatabaseModels.statusLines(store)
            }
            for line in lines { Output.line(line.serialized()) }
        }
    }
}
