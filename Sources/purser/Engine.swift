import Foundation
import Pipeline
import PurserRuntime

/// The engine as the commands that act use it: the runtime opened on `--data` (this process is
/// the log's one writer while the command runs).
enum Engine {
    static func open(_ global: GlobalOptions, options: PipelineOptions? = nil) async throws -> Runtime {
        try await Runtime.open(dataDirectory: global.dataDirectory, options: options, logger: LogSetup.logger("purser.pipeline")) { recovery in
            Output.note("recovered the event log: \(recovery.truncations.map(\.description).joined(separator: "; "))")
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
