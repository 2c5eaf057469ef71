import Foundation
import Logging
import Pipeline
import PurserCore
import PurserDomain

/// Writes each log record to stderr as one JSON object on one line — `timestamp` (ISO-8601 UTC),
/// `level`, `label`, `message`, `metadata` — so a log collector reads server logs without parsing text.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .notice
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    /// Serializes writes from concurrent tasks so lines never interleave.
    private static let stderr = Locked(FileHandle.standardError)

    init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error { merged["error"] = .string("\(error)") }
        let record = JSONLogHandler.record(timestamp: Timestamp.now(), level: event.level, label: label, message: event.message.description, metadata: merged)
        let bytes = record.serializedData() + Data([10])
        Self.stderr.withLock { $0.write(bytes) }
    }

    /// The JSON object of one record; metadata values keep their shape (strings, arrays, objects).
    static func record(timestamp: Timestamp, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> JSONValue {
        .object([
            "timestamp": .string(timestamp.iso8601),
            "level": .string(level.rawValue),
            "label": .string(label),
            "message": .string(message),
            "metadata": .object(metadata.mapValues(json)),
        ])
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let a): .array(a.map(json))
        case .dictionary(let d): .object(d.mapValues(json))
        }
    }
}
