import Foundation
import Logging
@testable import EventLog
import PurserCore
@_exported import PurserTestSupport

func draft(org: String = "haff", stream: String = "session:s1", type: String = "message.received",
           text: String = "Wann ist der nächste SBF-Kurs?", id: String? = nil) -> EventDraft {
    let data = #"{"channel":"whatsapp","text":"# + jsonString(text) + "}"
    return EventDraft(org: org, stream: stream, type: type, data: Array(data.utf8), actor: Actor(.customer, "+491701234567"), id: id)
}

func jsonString(_ s: String) -> String {
    var out: [UInt8] = []
    JSONBytes.appendString(s, to: &out)
    return String(decoding: out, as: UTF8.self)
}

func parseObject(_ bytes: [UInt8]) -> [String: Any] {
    JSONValue.foundationObject(line: bytes) ?? [:]
}

/// Opens a log with a logger that stays quiet (fault tests provoke many warnings on purpose).
func openLog(directory: String, options: EventLogOptions = EventLogOptions(),
             fileSystem: any FileSystem = PosixFileSystem()) throws -> EventLog {
    try EventLog.open(directory: directory, options: options, fileSystem: fileSystem,
                      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
}
