import ArgumentParser
import Foundation
import Logging
import Pipeline
import PurserCore

/// How log lines look on stderr.
enum LogFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// swift-log's `StreamLogHandler` lines, for people at a terminal.
    case text
    /// One JSON object per line (`JSONLogHandler`), for servers whose logs a collector reads.
    case json
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The one place the executable sets up swift-log. The libraries only take a `Logger`; they never
/// bootstrap, so a program embedding them keeps its own logging.
enum LogSetup {
    /// The level and format in force, once `bootstrap` ran.
    struct Settings: Sendable {
        /// The level `--log-level` or `$PURSER_LOG_LEVEL` asked for; nil leaves each logger at
        /// the default its command gives it.
        var level: Logger.Level?
        var format: LogFormat = .text
    }

    private static let settings = Locked(Settings())

    /// Bootstraps `LoggingSystem` from the parsed options (nil for a command without them) and
    /// the environment. Called once, by `Purser.main`, before the command runs.
    static func bootstrap(_ options: GlobalOptions?, environment: [String: String] = ProcessInfo.processInfo.environment) {
        var chosen = Settings()
        chosen.level = options?.logLevel
        if chosen.level == nil, let raw = environment["PURSER_LOG_LEVEL"], !raw.isEmpty {
            chosen.level = Logger.Level(rawValue: raw.lowercased())
            if chosen.level == nil { Output.note("PURSER_LOG_LEVEL=\(raw) is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")); ignored") }
        }
        chosen.format = options?.logFormat ?? environment["PURSER_LOG_FORMAT"].flatMap { LogFormat(rawValue: $0.lowercased()) } ?? .text
        settings.withLock { $0 = chosen }
        let level = chosen.level ?? .notice
        switch chosen.format {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// A logger for a command's own work, at `level` unless the command line or the environment
    /// chose one: read-model progress is worth seeing at a terminal, the engine's chatter is not.
    static func logger(_ label: String, level: Logger.Level = .notice) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = settings.withLock { $0.level } ?? level
        return logger
    }
}
