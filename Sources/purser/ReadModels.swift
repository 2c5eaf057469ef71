import AgentsProjection
import Foundation
import Projection
import PurserCore
import PurserDomain
import ReadModelCatalog

/// The read models of a data directory, as the commands use them.
enum ReadModels {
    /// Progress and rebuild notes go to stderr (as all logs do), never to stdout, which carries
    /// JSON Lines. Without a `source`, the models follow the data directory's own log.
    static func set(_ global: GlobalOptions, source: ProjectionSource? = nil) -> ProjectionSet {
        ProjectionSet(projectors: ReadModelCatalog.projectors, dataDirectory: global.dataDirectory,
                      source: source ?? .log(directory: global.eventLogDirectory),
                      logger: LogSetup.logger("purser.projections", level: .info))
    }

    /// Every org that has an agent, for commands that list across orgs.
    static func orgs(_ global: GlobalOptions, source: ProjectionSource? = nil) throws -> [String] {
        let agents = try current(AgentsProjector.name, global, source: source)
        return Array(Set(try agents.read { try AgentsQueries.agents($0, org: nil) }.map(\.org))).sorted()
    }

    /// The named model, caught up with its source, for a command that reads it.
    static func current(_ name: String, _ global: GlobalOptions, source: ProjectionSource? = nil) throws -> ProjectionStore {
        let store = try set(global, source: source).store(name)
        try store.catchUp()
        return store
    }

    /// Runs `body` with the source the options name: the PostgreSQL store with `--database` (or
    /// `PURSER_DATABASE_URL`), else the data directory's log. `body` runs on the blocking queue,
    /// off the cooperative pool: it blocks on SQLite, and a catch-up from PostgreSQL blocks its
    /// thread while tasks on the pool read the store.
    static func withSource<T: Sendable>(_ global: GlobalOptions, _ database: DatabaseOptions,
                                        _ body: @escaping @Sendable (ProjectionSource) throws -> T) async throws -> T {
        guard let url = try database.given() else {
            let log = ProjectionSource.log(directory: global.eventLogDirectory)
            return try await BlockingIO.run { () throws(any Error) -> T in try body(log) }
        }
        return try await StoreAccess.withDatabase(url, migrate: false, label: "purser.projections") { store in
            try await BlockingIO.run { () throws(any Error) -> T in try body(.store(store)) }
        }
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
