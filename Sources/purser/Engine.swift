import ArgumentParser
import EventLog
import Foundation
import LLM
import Pipeline
import PurserCore
import PurserDomain

/// The engine as the commands that act use it: the log opened for writing (this process is its
/// one writer while the command runs), the provider the environment selects, the pipeline.
struct Engine {
    let log: EventLog
    let pipeline: Pipeline
    let secrets: OrgSecrets

    static func open(_ global: GlobalOptions, options: PipelineOptions = PipelineOptions()) throws -> Engine {
        let logger = LogSetup.logger("purser.pipeline")
        var options = options
        let env = ProcessInfo.processInfo.environment
        // Tunables from the environment (documented in the README): how long an approval waits,
        // and how many model calls run at once.
        if let raw = env["PURSER_APPROVAL_EXPIRY_SECONDS"] {
            guard let seconds = Double(raw), seconds > 0 else { throw ValidationError("PURSER_APPROVAL_EXPIRY_SECONDS must be a positive number of seconds, got \(raw)") }
            options.approvalExpirySeconds = seconds
        }
        if let raw = env["PURSER_LLM_CONCURRENCY"] {
            guard let calls = Int(raw), calls > 0 else { throw ValidationError("PURSER_LLM_CONCURRENCY must be a positive number of calls, got \(raw)") }
            options.llmCallsInFlightMax = calls
        }
        let log = try EventLog.open(directory: global.eventLogDirectory)
        if !log.recovery.isClean {
            Output.note("recovered the event log: \(log.recovery.truncations.map(\.description).joined(separator: "; "))")
        }
        do {
            let provider = try ProviderSelection.provider(logger: logger)
            let prices = try PriceTable.fromEnvironment()
            let secrets = OrgSecrets(dataDirectory: global.dataDirectory, logger: logger)
            let cache = Locked<[String: (any LLMProvider)?]>([:])  // each org's provider, built once (nil: the engine's own)
            let pipeline = try Pipeline(dataDirectory: global.dataDirectory, log: log, provider: provider, prices: prices,
                                        options: options,
                                        orgProvider: { org in
                                            cache.withLock { known in
                                                if let provider = known[org] { return provider }
                                                let made = secrets.provider(for: org, prices: prices)
                                                known[org] = made
                                                return made
                                            }
                                        },
                                        logger: logger)
            return Engine(log: log, pipeline: pipeline, secrets: secrets)
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
