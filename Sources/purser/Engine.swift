import EventLog
import Foundation
import LLM
import Logging
import Pipeline
import PurserDomain

/// The engine as the commands that act use it: the log opened for writing (this process is its
/// one writer while the command runs), the provider the environment selects, the pipeline.
struct Engine {
    let log: EventLog
    let pipeline: Pipeline

    static func open(_ global: GlobalOptions, options: PipelineOptions = PipelineOptions()) throws -> Engine {
        let logger = ReadModels.logger("purser.pipeline", level: .notice)
        let log = try EventLog.open(directory: global.eventLogDirectory)
        if !log.recovery.isClean {
            Output.note("recovered the event log: \(log.recovery.truncations.map(\.description).joined(separator: "; "))")
        }
        do {
            let provider = try ProviderSelection.provider(logger: logger)
            let prices = try PriceTable.fromEnvironment()
            let pipeline = try Pipeline(dataDirectory: global.dataDirectory, log: log, provider: provider, prices: prices,
                                        options: options, logger: logger)
            return Engine(log: log, pipeline: pipeline)
        } catch {
            log.close()
            throw error
        }
    }

    func close() {
        log.close()
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
