import EventLog
import EventStore
import Foundation
import Logging
import PurserCore
import PurserDomain

/// Where a replay starts or stops: a seq, or an instant.
public enum ReplayBound: Sendable, Hashable {
    case seq(UInt64)
    case time(Timestamp)

    /// A positive integer is a seq; anything else must be an ISO-8601 timestamp or a bare date.
    public static func parse(_ text: String) throws(AuditError) -> ReplayBound {
        if let seq = UInt64(text), seq > 0 { return .seq(seq) }
        if let ts = Timestamp(iso8601: text) { return .time(ts) }
        throw AuditError(.invalidBound, "'\(text)' is neither a seq (1, 2, …) nor an ISO-8601 timestamp; write e.g. 1042, 2026-11-25T14:00:00Z or 2026-11-25")
    }
}

/// What part of an org's history to replay.
public struct ReplayOptions: Sendable {
    public var org: String
    public var session: String?
    /// Inclusive.
    public var since: ReplayBound?
    /// Inclusive.
    public var until: ReplayBound?
    public var typePrefix: String?

    public init(org: String, session: String? = nil, since: ReplayBound? = nil, until: ReplayBound? = nil, typePrefix: String? = nil) {
        self.org = org
        self.session = session
        self.since = since
        self.until = until
        self.typePrefix = typePrefix
    }
}

/// Reads one org's history from the log, through the org index (so the cost follows the org's
/// events, not the log's), and hands it out event by event. It never calls an LLM or a tool:
/// everything it shows was recorded.
///
/// Over a `LogReader` it reads synchronously; over any store behind the seam (the embedded log
/// or PostgreSQL) through the asynchronous methods. Both hand each event to the same `Selection`
/// and `ActivityText`, so the two paths cannot disagree.
public struct Replayer: Sendable {
    enum Source: Sendable {
        case reader(LogReader)
        case store(any EventStore)
    }

    let source: Source
    let logger: Logger

    public init(reader: LogReader, logger: Logger) {
        self.source = .reader(reader)
        self.logger = logger
    }

    /// Replays from any store, with the asynchronous methods (`of:`; an async overload under the
    /// same labels would take over the synchronous callers that run inside async code).
    public init(store: any EventStore, logger: Logger) {
        self.source = .store(store)
        self.logger = logger
    }

    /// Calls `body` with each matching event in seq order. Seq bounds go to the log's filter;
    /// time bounds are checked per event (the envelope's `ts`), since times are not indexed.
    /// `body` gets the event, its payload (when decoded) and the session it belongs to.
    public func forEach(_ options: ReplayOptions, decode: Bool, _ body: (AuditEvent, DomainEvent?, String?) throws -> Void) throws(AuditError) {
        guard case .reader(let reader) = source else { preconditionFailure("a Replayer over a store replays with `await`") }
        guard reader.exists else { throw AuditError(.noLog, "no event log at \(reader.directory); append events first or pass --data") }
        var selection = Selection(options, decode: decode, logger: logger)
        do {
            try reader.scan(selection.filter) { record in
                if record.seq > selection.filter.untilSeq { return false }
                if let (event, payload, sid) = try selection.take(record) { try body(event, payload, sid) }
                return true
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError(.log, "reading org \(options.org) from \(reader.directory) failed; run `purser log verify` to see where the log is damaged", cause: error)
        }
    }

    /// The same, from the store behind the seam (a reader's log is read through `EmbeddedEventStore`).
    public func forEach(of options: ReplayOptions, decode: Bool, _ body: (AuditEvent, DomainEvent?, String?) throws -> Void) async throws(AuditError) {
        let store: any EventStore
        switch source {
        case .reader(let reader):
            guard reader.exists else { throw AuditError(.noLog, "no event log at \(reader.directory); append events first or pass --data") }
            store = EmbeddedEventStore(reader: reader)
        case .store(let s):
            store = s
        }
        var selection = Selection(options, decode: decode, logger: logger)
        let f = selection.filter
        do {
            try await store.scan(EventQuery(org: options.org, typePrefix: f.typePrefix, fromSeq: f.fromSeq, untilSeq: f.untilSeq)) { batch in
                for stored in batch {
                    if let (event, payload, sid) = try stored.withRecord({ try selection.take($0) }) { try body(event, payload, sid) }
                }
                return true
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError(.log, "reading org \(options.org) from \(store) failed; run `purser log verify` to see where the log is damaged", cause: error)
        }
    }

    /// The raw event lines (`--format jsonl`).
    public func jsonl(_ options: ReplayOptions, _ write: ([UInt8]) -> Void) throws(AuditError) {
        try forEach(options, decode: false) { event, _, _ in write(event.raw) }
    }

    public func jsonl(of options: ReplayOptions, _ write: ([UInt8]) -> Void) async throws(AuditError) {
        try await forEach(of: options, decode: false) { event, _, _ in write(event.raw) }
    }

    /// The activity-log text (`--format text`): the org-level events (configuration, objects,
    /// spend without a session) first, then one section per session in the order they began,
    /// each line "14:28  agent     Queried 3 bookings  #1042".
    ///
    /// Sections are collected before printing, so memory follows the org's rendered lines; the
    /// log itself is still streamed.
    public func text(_ options: ReplayOptions) throws(AuditError) -> [String] {
        var text = ActivityText(org: options.org)
        try forEach(options, decode: true) { text.add($0, $1, $2) }
        return text.lines()
    }

    public func text(of options: ReplayOptions) async throws(AuditError) -> [String] {
        var text = ActivityText(org: options.org)
        try await forEach(of: options, decode: true) { text.add($0, $1, $2) }
        return text.lines()
    }

    /// Which events of an org a replay shows, and the session each belongs to.
    struct Selection {
        let options: ReplayOptions
        let decode: Bool
        let logger: Logger
        var filter: LogReader.Filter
        var sinceMs: Int64?
        var untilMs: Int64?
        /// Approval decisions live on `approval:<id>` streams and do not name their session; the
        /// `approval.requested` before them does, so they are grouped with it.
        var approvalSessions: [String: String] = [:]

        init(_ options: ReplayOptions, decode: Bool, logger: Logger) {
            self.options = options
            self.decode = decode
            self.logger = logger
            filter = LogReader.Filter(org: options.org, typePrefix: options.typePrefix)
            if case .seq(let s) = options.since { filter.fromSeq = s }
            if case .seq(let s) = options.until { filter.untilSeq = s }
            if case .time(let t) = options.since { sinceMs = t.millisecondsSinceEpoch }
            if case .time(let t) = options.until { untilMs = t.millisecondsSinceEpoch }
        }

        /// The event, its payload and session when the replay shows it; nil when it does not.
        mutating func take(_ record: EventRecord) throws(AuditError) -> (AuditEvent, DomainEvent?, String?)? {
            let event = try AuditEvent(record)
            if let sinceMs, event.timestampMs < sinceMs { return nil }
            if let untilMs, event.timestampMs > untilMs { return nil }
            var payload: DomainEvent?
            if decode || (options.session != nil && event.envelope.streamID(kind: "session") == nil) || event.type.hasPrefix("approval.") {
                do {
                    payload = try event.decode()
                } catch {
                    logger.warning("replay: \(error)")
                }
            }
            let sid = Replayer.session(of: event, payload, &approvalSessions)
            if let session = options.session, sid != session { return nil }
            return (event, payload, sid)
        }
    }

    /// The activity log being written: the org's section and one per session.
    struct ActivityText {
        var org: Section
        let orgName: String
        var sessions: [String: Section] = [:]
        var order: [String] = []
        var count = 0, first: UInt64?, last: UInt64 = 0

        init(org: String) {
            self.orgName = org
            self.org = Section(title: "Organization \(org)")
        }

        mutating func add(_ event: AuditEvent, _ payload: DomainEvent?, _ sessionId: String?) {
            count += 1
            first = first ?? event.seq
            last = event.seq
            let sentence = payload.map(EventSentence.describe) ?? "\(event.type) v\(event.envelope.version) (payload not readable)"
            let line = Replayer.line(event, sentence)
            if let sid = sessionId {
                if sessions[sid] == nil {
                    sessions[sid] = Section(title: "Session \(sid)")
                    order.append(sid)
                }
                if case .sessionOpened(let p) = payload {
                    sessions[sid]!.title = "Session \(sid) — \(p.channel.rawValue) \(p.externalContactId), agent \(p.agentId)"
                }
                sessions[sid]!.add(event, line, payload)
            } else {
                org.add(event, line, payload)
            }
        }

        func lines() -> [String] {
            var out = ["\(orgName): \(count) event\(count == 1 ? "" : "s")" + (first.map { " (seq \($0)–\(last))" } ?? "")]
            for section in [org] + order.map({ sessions[$0]! }) where !section.lines.isEmpty {
                out.append("")
                out.append(section.title)
                out.append(contentsOf: section.lines)
                if section.llmCalls > 0 || section.charged > 0 {
                    out.append("  cost: \(section.llmCalls) LLM call\(section.llmCalls == 1 ? "" : "s"), \(section.tokens) tokens, \(EventSentence.usd(section.charged)) charged")
                }
            }
            return out
        }
    }

    /// The session of an event: its stream or payload, or for an approval decision the session
    /// of the `approval.requested` it decides.
    static func session(of event: AuditEvent, _ payload: DomainEvent?, _ approvals: inout [String: String]) -> String? {
        if let sid = event.sessionId(payload) {
            if case .approvalRequested(let p) = payload { approvals[p.approvalId] = sid }
            return sid
        }
        switch payload {
        case .approvalGranted(let p): return approvals[p.approvalId]
        case .approvalRejected(let p): return approvals[p.approvalId]
        case .approvalExpired(let p): return approvals[p.approvalId]
        default: return nil
        }
    }

    /// One activity line: time, who acted (the human's id for operators), the sentence, the seq.
    static func line(_ event: AuditEvent, _ sentence: String) -> String {
        let ts = Timestamp(millisecondsSinceEpoch: event.timestampMs).iso8601
        let time = ts.count >= 16 ? String(ts.dropFirst(11).prefix(5)) : ts
        let who: String
        switch event.actor.kind {
        case .human: who = "human:\(event.actor.id)"
        default: who = event.actor.kind.rawValue
        }
        return "  \(time)  \(who.padding(toLength: max(8, who.count), withPad: " ", startingAt: 0))  \(sentence)  #\(event.seq)"
    }

    struct Section {
        var title: String
        var lines: [String] = []
        var day = ""
        var llmCalls = 0
        var tokens = 0
        var charged = 0.0

        mutating func add(_ event: AuditEvent, _ line: String, _ payload: DomainEvent?) {
            let day = Timestamp(millisecondsSinceEpoch: event.timestampMs).utcDay
            if day != self.day {
                lines.append("  \(day)")
                self.day = day
            }
            lines.append(line)
            switch payload {
            case .llmCompleted(let p): llmCalls += 1; tokens += p.totalTokens
            case .llmFailed: llmCalls += 1
            case .costCharged(let p): charged += p.usd
            default: break
            }
        }
    }
}
