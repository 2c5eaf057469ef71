import AgentsProjection
import AuditProjection
import CRMProjection
import Dispatch
import EventLog
import EventStore
import Foundation
import GRDB
import PurserCore
import PurserDomain
import SessionsProjection
import SpendProjection
import Tools

/// What a server reads: the read models and the org's events, each call `async` and run on a
/// dispatch queue, never on the cooperative thread pool (SQLite and the log's segment files
/// block). Each read first brings its model up to the log's head, so a caller sees its own writes.
/// The HTTP layer reads through this type only; it holds no SQLite handle.
public struct ReadAPI: Sendable {
    let pipeline: Pipeline

    /// Runs `body` off the cooperative pool (`BlockingIO`) and hands its result back to the
    /// caller's task: for any blocking read a server does (a read model, the log, a small file
    /// such as the token list).
    public static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingIO.run(body)
    }

    /// Reads `name` off the cooperative pool, first brought up to the log's head unless `current`
    /// is false (a caller that catches up only when the first look finds nothing).
    func read<T: Sendable>(_ name: String, current: Bool = true, _ body: @escaping @Sendable (Database) throws -> T) async throws(PipelineError) -> T {
        if current { try await pipeline.refresh(name) }
        let models = pipeline.models
        do {
            return try await Self.offPool { try models.read(name, body) }
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the \(name) read model", cause: error)
        }
    }

    /// The configuration history of one agent, oldest first.
    public func agentHistory(org: String, agentId: String) async throws(PipelineError) -> [AgentConfigVersion] {
        guard let shared = pipeline.options.agents else {
            return try await read(AgentsProjector.name) { db in try AgentsQueries.history(db, org: org, agentId: agentId) }
        }
        do {
            return try await shared.history(org: org, agentId: agentId)
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the agents read model", cause: error)
        }
    }

    /// The org's sessions (newest activity first), each with the text of its last message.
    public func sessions(org: String, status: String?, channel: String?) async throws(PipelineError) -> [(session: SessionRecord, lastMessage: String?)] {
        if let shared = pipeline.options.sessions {
            return try await Pipeline.sharedRead {
                try await shared.sessionsWithLastMessage(org: org, status: status).filter { channel == nil || $0.session.channel == channel }
            }
        }
        let rows = try await read(SessionsProjector.name) { db -> [SessionWithLast] in
            try SessionsQueries.sessions(db, org: org, status: status).filter { channel == nil || $0.channel == channel }.map { row in
                SessionWithLast(session: row, lastMessage: try SessionsQueries.transcript(db, org: org, session: row.sessionId, last: 1).first?.text)
            }
        }
        return rows.map { ($0.session, $0.lastMessage) }
    }

    /// One session and its whole transcript; nil when the org has no such session.
    public func session(org: String, id: String) async throws(PipelineError) -> (session: SessionRecord, transcript: [TranscriptLine])? {
        if let shared = pipeline.options.sessions {
            return try await Pipeline.sharedRead { () async throws -> (session: SessionRecord, transcript: [TranscriptLine])? in
                guard let row = try await shared.session(org: org, id: id) else { return nil }
                return (row, try await shared.transcript(org: org, session: id, last: nil))
            }
        }
        let found = try await read(SessionsProjector.name) { db -> SessionWithTranscript? in
            guard let row = try SessionsQueries.session(db, org: org, id: id) else { return nil }
            return SessionWithTranscript(session: row, transcript: try SessionsQueries.transcript(db, org: org, session: id))
        }
        return found.map { ($0.session, $0.transcript) }
    }

    /// The org's approvals in `state` (nil: all).
    public func approvals(org: String, state: String?) async throws(PipelineError) -> [ApprovalRecord] {
        if let shared = pipeline.options.audit {
            return try await Pipeline.sharedRead { try await shared.approvals(org: org, state: state) }
        }
        return try await read(AuditProjector.name) { db in try AuditQueries.approvals(db, org: org, state: state) }
    }

    /// A page of the activity log, newest first, before `before`.
    public func activity(org: String, before: UInt64?, limit: Int) async throws(PipelineError) -> [ActivityLine] {
        if let shared = pipeline.options.audit {
            return try await Pipeline.sharedRead { try await shared.activityPage(org: org, before: before, limit: limit) }
        }
        return try await read(AuditProjector.name) { db in try AuditQueries.activityPage(db, org: org, before: before, limit: limit) }
    }

    /// Spend per agent on `day` (`YYYY-MM-DD`).
    public func spend(org: String, day: String) async throws(PipelineError) -> [SpendRecord] {
        // On PostgreSQL the shared model, which every node's charges reach.
        if pipeline.options.spend != nil { return try await pipeline.spendRows(org: org, day: day) }
        return try await read(SpendProjector.name) { db in try SpendQueries.spend(db, org: org, day: day) }
    }

    /// Runs a data query as staff would (the whole org): the result, or the `{"error": …}` object
    /// of a bad query — what `data_query_tool` returns.
    public func dataQuery(org: String, arguments: JSONValue) async throws(PipelineError) -> JSONValue {
        // The model the agent's own queries use: on PostgreSQL the shared one, so staff and the
        // agent see the same rows whichever node answers.
        if let queries = pipeline.options.dataQueries {
            let query: DataQuery
            do throws(ToolError) { query = try DataQuery.parse(arguments, now: pipeline.clock()) } catch { return error.json }
            do throws(ToolError) {
                return try await queries.run(query, org: org, scope: .organization)
            } catch where error.code == .readModelFailed {
                throw PipelineError(.readModelFailed, "cannot read the crm read model", cause: error)
            } catch {
                return error.json
            }
        }
        try await pipeline.refresh(CRMProjector.name)
        let engine = DataQueryEngine(reader: try pipeline.models.crmDatabase())
        let now = pipeline.clock()
        do {
            return try await Self.offPool { engine.execute(arguments: arguments, org: org, now: now) }
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the crm read model", cause: error)
        }
    }

    /// One event of an org as the log stores it.
    public struct OrgEvent: Sendable, Hashable {
        public var seq: UInt64
        public var type: String
        /// The envelope as JSON text.
        public var json: String
    }

    /// The org's events from `fromSeq` on, read through the org index until about `bytesMax` of
    /// envelopes; and the seq to read from next time.
    public func orgEvents(org: String, fromSeq: UInt64, bytesMax: Int) async throws(PipelineError) -> (events: [OrgEvent], next: UInt64) {
        var events: [OrgEvent] = []
        var bytes = 0
        var next = fromSeq
        do {
            try await pipeline.store.scan(EventQuery(org: org, fromSeq: fromSeq), batchEventsMax: 256) { batch in
                for event in batch {
                    let json = String(decoding: event.line, as: UTF8.self)
                    events.append(OrgEvent(seq: event.seq, type: event.type, json: json))
                    next = event.seq + 1
                    bytes += event.line.count
                    if bytes >= bytesMax { return false }
                }
                return true
            }
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the event log", cause: error)
        }
        return (events, next)
    }

    /// Where a live reader of `org` that has seen nothing starts: after the last event stored.
    public func orgHead(org: String) async throws(PipelineError) -> UInt64 {
        if pipeline.embeddedLog != nil { return pipeline.logHead }  // a global seq is a position in every org
        do {
            return try await pipeline.store.head(org: org)
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the head of \(org)", cause: error)
        }
    }
}

/// Sendable carriers for results assembled inside a read.
private struct SessionWithLast: Sendable {
    var session: SessionRecord
    var lastMessage: String?
}

private struct SessionWithTranscript: Sendable {
    var session: SessionRecord
    var transcript: [TranscriptLine]
}

extension Pipeline {
    /// The async read API over this engine's read models and log.
    public var reads: ReadAPI { ReadAPI(pipeline: self) }
}
