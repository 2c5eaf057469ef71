import AgentsProjection
import Foundation
import Projection
import PurserDomain
import ReadModelCatalog

/// The read models of a data directory, as the commands use them.
enum ReadModels {
    /// Progress and rebuild notes go to stderr (as all logs do), never to stdout, which carries JSON Lines.
    static func set(_ global: GlobalOptions) -> ProjectionSet {
        ProjectionSet(projectors: ReadModelCatalog.projectors, dataDirectory: global.dataDirectory, logger: LogSetup.logger("purser.projections", level: .info))
    }

    /// Every org that has an agent, for commands that list across orgs.
    static func orgs(_ global: GlobalOptions) throws -> [String] {
        let agents = try current(AgentsProjector.name, global)
        return Array(Set(try agents.read { try AgentsQueries.agents($0, org: nil) }.map(\.org))).sorted()
    }

    /// The named model, caught up with the log, for a command that reads it.
    static func current(_ name: String, _ global: GlobalOptions) throws -> ProjectionStore {
        let store = try set(global).store(name)
        try store.catchUp()
        return store
    }
}

extension JSONValue {
    /// A JSON value for a command's output line.
    static func from(_ fields: [String: JSONValue?]) -> JSONValue {
        .object(fields.compactMapValues { $0 })
    }
}

/// The actor the command line appends as: the person at the terminal.
func commandLineActor() -> String {
    let env = ProcessInfo.processInfo.environment
    return "cli:" + (env["PURSER_ACTOR"] ?? env["USER"] ?? env["LOGNAME"] ?? "operator")
}

/// Prints a domain or projection error for a person, and as a JSON line for programs.
func report(_ error: any Error) {
    Output.note("\(error)")
}
