import ArgumentParser
import Foundation
import Projection
import PurserDomain
import ReadModelCatalog

struct ProjectionsRebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild read models from the log (all, or the ones named), in parallel.",
        discussion: "Each is built into <name>.sqlite.rebuild and swapped in when complete; until then readers see the old model. One JSON line per model: events scanned and applied, checkpoint, seconds. Progress goes to stderr."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("Read models to rebuild (default: all).", valueName: "NAME")) var names: [String] = []

    func validate() throws {
        let known = ReadModelCatalog.projectors.map(\.name)
        for name in names where !known.contains(name) {
            throw ValidationError("no read model is named \"\(name)\"; known: \(known.joined(separator: ", "))")
        }
    }

    func run() throws {
        let stores = try ReadModels.set(global).select(names)
        let reports = try ProjectionSet.runBlocking(stores, rebuild: true)
        for r in reports {
            Output.line(JSONValue.from([
                "name": .string(r.name), "eventsScanned": .number(Double(r.eventsScanned)), "eventsApplied": .number(Double(r.eventsApplied)),
                "eventsSkipped": .number(Double(r.eventsSkipped)), "checkpoint": .number(Double(r.checkpoint)),
                "seconds": .number((r.seconds * 1000).rounded() / 1000),
            ]).serialized())
        }
    }
}
