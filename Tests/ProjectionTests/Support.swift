import EventLog
import Foundation
@_exported import PurserTestSupport
import GRDB
import Logging
import Projection
import PurserCore
import PurserDomain

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A data directory with an event log, removed when released.
final class TestData: @unchecked Sendable {
    private let directory = TempDir(prefix: "purser-proj")
    var path: String { directory.path }
    var logDirectory: String { directory.logDirectory }
    private var log: EventLog?
    private var clock: Int64 = 1_795_600_000_000

    deinit {
        log?.close()
    }

    func openLog() throws -> EventLog {
        if let log { return log }
        let l = try EventLog.open(directory: logDirectory, logger: quietLogger)
        log = l
        return l
    }

    func closeLog() {
        log?.close()
        log = nil
    }

    /// Appends one typed payload; returns its seq.
    @discardableResult
    func append<P: EventPayload>(_ org: String, _ stream: String, _ payload: P, actor: Actor = .system, at ms: Int64? = nil) throws -> UInt64 {
        try append([draft(org, stream, payload, actor: actor, at: ms)])[0]
    }

    func draft<P: EventPayload>(_ org: String, _ stream: String, _ payload: P, actor: Actor = .system, at ms: Int64? = nil) throws -> EventDraft {
        let encoded = try EventCatalog.standard.encode(payload)
        clock += 1000
        return EventDraft(org: org, stream: stream, type: encoded.type, version: encoded.version, data: Array(encoded.data),
                          actor: actor, timestampMs: ms ?? clock)
    }

    /// Appends raw JSON data under a type (for malformed or old-version payloads).
    @discardableResult
    func appendRaw(_ org: String, _ stream: String, type: String, version: Int = 1, _ json: String) throws -> UInt64 {
        clock += 1000
        return try append([EventDraft(org: org, stream: stream, type: type, version: version, data: Array(json.utf8), timestampMs: clock)])[0]
    }

    @discardableResult
    func append(_ drafts: [EventDraft]) throws -> [UInt64] {
        var seqs: [UInt64] = []
        var i = 0
        while i < drafts.count {
            let end = min(drafts.count, i + 4096)
            seqs += try openLog().appendSync(Array(drafts[i..<end])).seqs
            i = end
        }
        return seqs
    }

    func store(_ projector: any Projector, directory: String? = nil) -> ProjectionStore {
        ProjectionStore(projector: projector, directory: directory ?? path + "/projections", logDirectory: logDirectory, logger: quietLogger)
    }
}

/// Every row of every table but projection_meta, as text, sorted: two models are equal when
/// their dumps are.
func dump(_ store: ProjectionStore) throws -> [String: [String]] {
    try store.read { db in
        var out: [String: [String]] = [:]
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'projection_meta' ORDER BY name")
        for table in tables {
            out[table] = try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map { $0.description }.sorted()
        }
        return out
    }
}

func rows(_ store: ProjectionStore, _ sql: String, _ arguments: StatementArguments = []) throws -> [Row] {
    try store.read { try Row.fetchAll($0, sql: sql, arguments: arguments) }
}

extension ApprovalRequested {
    static func sample(_ id: String, agent: String = "primary", session: String? = "s1", call: String? = "call_1") -> ApprovalRequested {
        ApprovalRequested(approvalId: id, agentId: agent, sessionId: session, kind: .toolCall, callId: call, tool: "booking_tool",
                          arguments: ["courseId": "course_sbf", "price": 450.0], category: .financial,
                          rule: "requireApprovalFor: financial", summary: "create booking for €450",
                          expiresAt: Timestamp(millisecondsSinceEpoch: 1_795_700_000_000))
    }
}
