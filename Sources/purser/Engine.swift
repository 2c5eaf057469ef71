import Foundation
import Pipeline
import PurserRuntime

/// The engine as the commands that act use it: the runtime opened on `--data`, or on the
/// PostgreSQL store `--database` / `PURSER_DATABASE_URL` names (the read models stay under
/// `--data`). On the embedded store this process is the log's one writer while the command runs.
enum Engine {
    static func open(_ global: GlobalOptions, _ database: DatabaseOptions?, options: PipelineOptions? = nil) async throws -> Runtime {
        let url = try database?.given()
        return try await Runtime.open(dataDirectory: global.dataDirectory, database: url, options: options,
                                      logger: LogSetup.logger("purser.pipeline")) { recovery in
            Output.note("recovered the event log: \(recovery.truncations.map(\.description).joined(separator: "; "))")
        }
    }

    /// Opens the runtime, runs `body`, and closes the runtime however `body` ends.
    static func run<T>(_ global: GlobalOptions, _ database: DatabaseOptions?, _ body: (Runtime) async throws -> T) async throws -> T {
        let runtime = try await open(global, database)
        do {
            let result = try await body(runtime)
            await runtime.close()
            return result
        } catch {
            await runtime.close()
            throw error
        }
    }
}

/// Who is acting at the terminal, for the events' `actor` (`PURSER_ACTOR`, else the user name).
func humanActor() -> String {
    let env = ProcessInfo.processInfo.environment
    return env["PURSER_ACTOR"] ?? env["USER"] ?? env["LOGNAME"] ?? "operator"
}

/// Prints an outcome line (JSON) for programs.
func emit(_ outcome: TurnOutcome) {
    Output.line(outcome.json.serialized())
}
