import ArgumentParser
import Foundation
import Projection
import PurserDomain
import ReadModelCatalog

struct ProjectionsCatchUp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catchup",
        abstract: "Bring read models (all, or the ones named) up to the log's head, in parallel.",
        discussion: "Continues each model from its checkpoint; rebuilds it when its schema version changed, it was never built, or its checkpoint is beyond the log's end. One JSON line per model."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("Read models to catch up (default: all).", valueName: "NAME")) var names: [String] = []

    func validate() throws {
        let known = ReadModelCatalog.projectors.map(\.name)
        for name in names where !known.contains(name) {
            throw ValidationError("no read model is named \"\(name)\"; known: \(known.joined(separator: ", "))")
        }
    }

    func run() throws {
        let stores = try ReadModels.set(global).select(names)
        let reports = try ProjectionSet.runBlocking(stores, rebuild: false)
        for r in reports {
            Output.line(JSONValue.from([
                "name": .string(r.name), "rebuilt": .bool(r.rebuilt), "rebuildReason": r.rebuildReason.map(JSONValue.string),
                "eventsScanned": .number(Double(r.eventsScanned)), "eventsApplied": .number(Double(r.eventsApplied)),
                "eventsSkipped": .number(Double(r.eventsSkipped)), "checkpoint": .number(Double(r.checkpoint)),
                "seconds": .number((r.seconds * 1000).rounded() / 1000),
            ]).serialized())
        }
    }
}
