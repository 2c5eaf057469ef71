import ArgumentParser
import Foundation
import Projection
import PurserDomain

struct ProjectionsStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "One JSON line per read model: name, schema versions, checkpoint, log head, lag.",
        discussion: "Changes nothing. storedSchemaVersion is null for a model never built; needsRebuild says whether the next catch-up rebuilds it (schema version changed, or checkpoint beyond the log's end)."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        for store in ReadModels.set(global).stores {
            let s = try store.status()
            Output.line(JSONValue.from([
                "name": .string(s.name), "schemaVersion": .number(Double(s.schemaVersion)),
                "storedSchemaVersion": s.storedSchemaVersion.map { .number(Double($0)) } ?? .null,
                "checkpoint": .number(Double(s.checkpoint)), "logHead": .number(Double(s.logHead)), "lag": .number(Double(s.lag)),
                "skippedEvents": .number(Double(s.skippedEvents)), "needsRebuild": .bool(s.needsRebuild), "path": .string(s.path),
            ]).serialized())
        }
    }
}
