import Logging
import PostgresNIO
import Projection
import PurserCore
import PurserDomain
import SessionsProjection

/// The sessions model in PostgreSQL: each conversation's state, its transcript and the webchat
/// visitors, the same rows as its SQLite twin (projections/sessions), so any node resumes a
/// conversation another node held and answers the dashboard's transcripts.
///
/// A batch is folded in Swift, in event order, over the session rows it touches (read first,
/// inside the catch-up's transaction, which holds the org's checkpoint row) with the SQLite
/// model's rules event by event; the cost sums are added one event at a time, as SQLite adds
/// them. Then a few set-based statements write the rows, the transcript lines and the visitors,
/// whatever the batch's size.
public struct PostgresSessionsProjector: PostgresProjector {
    public init() {}

    public var name: String { SessionsProjector.name }
    /// 1: first version (the SQLite model's version 3).
    public var schemaVersion: Int { 1 }
    public var eventTypes: Set<String> { SessionsProjector().eventTypes }

    public var schemaStatements: [String] {
        [
            """
            CREATE TABLE {schema}.sessions (
                org text COLLATE "C" NOT NULL,
                session_id text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C",
                channel text COLLATE "C",
                external_contact text COLLATE "C",
                crm_contact text COLLATE "C",
                status text COLLATE "C" NOT NULL,
                handed_off_to text COLLATE "C",
                handoff_reason text,
                internal boolean NOT NULL DEFAULT false,
                opened_at text COLLATE "C",
                last_message_at text COLLATE "C",
                closed_at text COLLATE "C",
                message_count bigint NOT NULL DEFAULT 0,
                tokens_used bigint NOT NULL DEFAULT 0,
                cost_usd double precision NOT NULL DEFAULT 0,
                updated_seq bigint NOT NULL,
                PRIMARY KEY (org, session_id)
            )
            """,
            "CREATE INDEX sessions_by_status ON {schema}.sessions (org, status)",
            "CREATE INDEX sessions_by_contact ON {schema}.sessions (org, channel, external_contact)",
            """
            CREATE TABLE {schema}.transcript (
                org text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                session_id text COLLATE "C" NOT NULL,
                direction text COLLATE "C" NOT NULL,
                actor_kind text COLLATE "C" NOT NULL,
                actor_id text COLLATE "C" NOT NULL,
                text text NOT NULL,
                ts text COLLATE "C" NOT NULL,
                PRIMARY KEY (org, seq)
            )
            """,
            "CREATE INDEX transcript_by_session ON {schema}.transcript (org, session_id, seq)",
            """
            CREATE TABLE {schema}.webchat_visitors (
                token_hash text COLLATE "C" PRIMARY KEY,
                org text COLLATE "C" NOT NULL,
                visitor_id text COLLATE "C" NOT NULL,
                org_address text COLLATE "C" NOT NULL,
                seq bigint NOT NULL
            )
            """,
        ]
    }

    /// One event's change, decoded with the SQLite model's requirements.
    enum Change {
        /// `message.received`; `visitor` is the webchat token's hash and the widget address (nil
        /// when the event lacks it, which skips the event after its message is kept, as SQLite does).
        case received(session: String, agent: String?, channel: String, from: String, text: String, visitor: (hash: String, to: String?)?)
        case sent(session: String, text: String)
        case completed(session: String, tokens: Int, cost: Double)
        case contact(session: String, contact: String)
        case opened(SessionOpened)
        case handedOff(SessionHandedOff)
        case released(String)
        case closed(String)
    }

    static func change(of event: ProjectedEvent) -> Result<Change?, ProjectionError> {
        do {
            switch event.type {
            case MessageReceived.type:
                let p = try PayloadFields(event)
                let text = try p.string("text"), channel = try p.string("channel"), from = try p.string("from")
                guard let session = p.sessionId else { return .success(nil) }
                let visitor = channel == Channel.webchat.rawValue ? p.optionalString("visitorTokenHash").map { ($0, p.optionalString("to")) } : nil
                return .success(.received(session: session, agent: p.optionalString("agentId"), channel: channel, from: from, text: text,
                                          visitor: visitor))
            case MessageSent.type:
                let p = try PayloadFields(event)
                let text = try p.string("text")
                return .success(p.sessionId.map { .sent(session: $0, text: text) })
            case LLMCompleted.type:
                let p = try PayloadFields(event)
                let tokens = try p.int("promptTokens") + p.int("completionTokens")
                let cost = try p.double("costUsd")
                return .success(p.sessionId.map { .completed(session: $0, tokens: tokens, cost: cost) })
            case ContactResolved.type:
                let p = try PayloadFields(event)
                let contact = try p.string("crmContactId")
                return .success(p.sessionId.map { .contact(session: $0, contact: contact) })
            case SessionOpened.type: return .success(.opened(try event.decode(SessionOpened.self)))
            case SessionHandedOff.type: return .success(.handedOff(try event.decode(SessionHandedOff.self)))
            case SessionReleased.type: return .success(.released(try event.decode(SessionReleased.self).sessionId))
            case SessionClosed.type: return .success(.closed(try event.decode(SessionClosed.self).sessionId))
            default: return .success(nil)
            }
        } catch let error {
            return .failure(error)
        }
    }

    /// What a batch writes.
    struct Folded {
        var rows: [String: SessionRow] = [:]
        var transcript: [TranscriptRow] = []
        var visitors: [(hash: String, visitorId: String, orgAddress: String, seq: UInt64)] = []
        var skipped = 0
    }

    struct TranscriptRow {
        var seq: UInt64
        var session: String
        var direction: String
        var actorKind: String
        var actorId: String
        var text: String
        var ts: String
    }

    /// Applies `events` (with their changes) in order over `stored`, by the SQLite model's rules.
    static func fold(_ changes: [(ProjectedEvent, Change)], stored: [String: SessionRow]) -> Folded {
        var folded = Folded()
        var seen = Set<String>()
        func row(_ id: String) -> SessionRow? { folded.rows[id] ?? stored[id] }
        /// The row as `INSERT OR IGNORE … (status 'active', updated_seq)` leaves it.
        func ensured(_ id: String, _ seq: UInt64) -> SessionRow { row(id) ?? SessionRow(sessionId: id, updatedSeq: seq) }
        func line(_ event: ProjectedEvent, _ session: String, _ direction: String, _ text: String) {
            folded.transcript.append(TranscriptRow(seq: event.seq, session: session, direction: direction, actorKind: event.actor.kind.rawValue,
                                                   actorId: event.actor.id, text: text, ts: event.timestampText))
        }
        for (event, change) in changes {
            let seq = event.seq, at = event.timestampText
            switch change {
            case .received(let session, let agent, let channel, let from, let text, let visitor):
                if var r = row(session) {
                    r.lastMessageAt = at
                    r.messageCount += 1
                    r.updatedSeq = seq
                    folded.rows[session] = r
                } else {
                    var r = SessionRow(sessionId: session, updatedSeq: seq)
                    r.agentId = agent
                    r.channel = channel
                    r.externalContact = from
                    r.lastMessageAt = at
                    r.messageCount = 1
                    folded.rows[session] = r
                }
                line(event, session, "inbound", text)
                if let visitor {
                    if let to = visitor.to {
                        if seen.insert(visitor.hash).inserted { folded.visitors.append((visitor.hash, from, to, seq)) }
                    } else {
                        folded.skipped += 1  // SQLite's model has kept the message when `to` is found missing
                    }
                }
            case .sent(let session, let text):
                if var r = row(session) {
                    r.lastMessageAt = at
                    r.messageCount += 1
                    r.updatedSeq = seq
                    folded.rows[session] = r
                } else {
                    var r = SessionRow(sessionId: session, updatedSeq: seq)
                    r.lastMessageAt = at
                    r.messageCount = 1
                    folded.rows[session] = r
                }
                line(event, session, "outbound", text)
            case .completed(let session, let tokens, let cost):
                if var r = row(session) {
                    r.tokensUsed += tokens
                    r.costUsd += cost
                    r.updatedSeq = seq
                    folded.rows[session] = r
                } else {
                    var r = SessionRow(sessionId: session, updatedSeq: seq)
                    r.tokensUsed = tokens
                    r.costUsd = cost
                    folded.rows[session] = r
                }
            case .contact(let session, let contact):
                var r = row(session) ?? SessionRow(sessionId: session, updatedSeq: seq)
                r.crmContact = contact
                r.updatedSeq = seq
                folded.rows[session] = r
            case .opened(let opened):
                var r = ensured(opened.sessionId, seq)
                r.agentId = opened.agentId
                r.channel = opened.channel.rawValue
                r.externalContact = opened.externalContactId
                r.crmContact = opened.crmContactId ?? r.crmContact
                r.isInternal = opened.internalSession
                r.openedAt = at
                r.status = "active"
                r.updatedSeq = seq
                folded.rows[opened.sessionId] = r
            case .handedOff(let handoff):
                var r = ensured(handoff.sessionId, seq)
                r.status = "handed_off"
                r.handedOffTo = handoff.handedOffTo
                r.handoffReason = handoff.reason
                r.updatedSeq = seq
                folded.rows[handoff.sessionId] = r
            case .released(let session):
                var r = ensured(session, seq)
                r.status = "active"
                r.handedOffTo = nil
                r.handoffReason = nil
                r.updatedSeq = seq
                folded.rows[session] = r
            case .closed(let session):
                var r = ensured(session, seq)
                r.status = "closed"
                r.closedAt = at
                r.updatedSeq = seq
                folded.rows[session] = r
            }
        }
        return folded
    }

    public func apply(_ events: [ProjectedEvent], org: String, schema s: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var changes: [(ProjectedEvent, Change)] = []
        var skipped = 0
        for event in events {
            switch Self.change(of: event) {
            case .success(let change?): changes.append((event, change))
            case .success(nil): break
            case .failure(let error):
                skipped += 1
                logger.warning("read model sessions: skipped event #\(event.seq) of org \(org): \(error.message)")
            }
        }
        guard !changes.isEmpty else { return skipped }
        var ids = Set<String>()
        for (_, change) in changes { ids.insert(change.session) }
        var stored: [String: SessionRow] = [:]
        for row in try await SessionRow.fetch(connection, schema: s, org: org, ids: Array(ids), logger: logger) { stored[row.sessionId] = row }
        let folded = Self.fold(changes, stored: stored)

        if !folded.rows.isEmpty {
            try await PostgresJSON.execute("""
                INSERT INTO \(s).sessions (org, session_id, agent_id, channel, external_contact, crm_contact, status, handed_off_to,
                    handoff_reason, internal, opened_at, last_message_at, closed_at, message_count, tokens_used, cost_usd, updated_seq)
                SELECT $1, u.session_id, u.agent_id, u.channel, u.external_contact, u.crm_contact, u.status, u.handed_off_to,
                    u.handoff_reason, u.internal, u.opened_at, u.last_message_at, u.closed_at, u.message_count, u.tokens_used,
                    u.cost_usd, u.updated_seq
                  FROM json_to_recordset($2::json) AS u(session_id text, agent_id text, channel text, external_contact text,
                    crm_contact text, status text, handed_off_to text, handoff_reason text, internal boolean, opened_at text,
                    last_message_at text, closed_at text, message_count bigint, tokens_used bigint, cost_usd float8, updated_seq bigint)
                ON CONFLICT (org, session_id) DO UPDATE SET agent_id = excluded.agent_id, channel = excluded.channel,
                    external_contact = excluded.external_contact, crm_contact = excluded.crm_contact, status = excluded.status,
                    handed_off_to = excluded.handed_off_to, handoff_reason = excluded.handoff_reason, internal = excluded.internal,
                    opened_at = excluded.opened_at, last_message_at = excluded.last_message_at, closed_at = excluded.closed_at,
                    message_count = excluded.message_count, tokens_used = excluded.tokens_used, cost_usd = excluded.cost_usd,
                    updated_seq = excluded.updated_seq
                """, org: org, records: folded.rows.values.map(\.record), on: connection, logger: logger)
        }
        if !folded.transcript.isEmpty {
            try await PostgresJSON.execute("""
                INSERT INTO \(s).transcript (org, seq, session_id, direction, actor_kind, actor_id, text, ts)
                SELECT $1, u.seq, u.session_id, u.direction, u.actor_kind, u.actor_id, u.text, u.ts
                  FROM json_to_recordset($2::json) AS u(seq bigint, session_id text, direction text, actor_kind text, actor_id text, text text, ts text)
                ON CONFLICT (org, seq) DO UPDATE SET session_id = excluded.session_id, direction = excluded.direction,
                    actor_kind = excluded.actor_kind, actor_id = excluded.actor_id, text = excluded.text, ts = excluded.ts
                """, org: org, records: folded.transcript.map { line in
                    PostgresJSON.record(["session_id": line.session, "direction": line.direction, "actor_kind": line.actorKind,
                                         "actor_id": line.actorId, "text": line.text, "ts": line.ts], numbers: ["seq": Double(line.seq)])
                }, on: connection, logger: logger)
        }
        if !folded.visitors.isEmpty {
            try await PostgresJSON.execute("""
                INSERT INTO \(s).webchat_visitors (token_hash, org, visitor_id, org_address, seq)
                SELECT u.token_hash, $1, u.visitor_id, u.org_address, u.seq
                  FROM json_to_recordset($2::json) AS u(token_hash text, visitor_id text, org_address text, seq bigint)
                ON CONFLICT (token_hash) DO NOTHING
                """, org: org, records: folded.visitors.map { v in
                    PostgresJSON.record(["token_hash": v.hash, "visitor_id": v.visitorId, "org_address": v.orgAddress], numbers: ["seq": Double(v.seq)])
                }, on: connection, logger: logger)
        }
        return skipped + folded.skipped
    }
}

extension PostgresSessionsProjector.Change {
    var session: String {
        switch self {
        case .received(let session, _, _, _, _, _), .sent(let session, _), .completed(let session, _, _), .contact(let session, _): session
        case .opened(let opened): opened.sessionId
        case .handedOff(let handoff): handoff.sessionId
        case .released(let session), .closed(let session): session
        }
    }
}

/// One row of the sessions table, as the fold works on it.
struct SessionRow: Sendable, Equatable {
    var sessionId: String
    var agentId: String?
    var channel: String?
    var externalContact: String?
    var crmContact: String?
    var status = "active"
    var handedOffTo: String?
    var handoffReason: String?
    var isInternal = false
    var openedAt: String?
    var lastMessageAt: String?
    var closedAt: String?
    var messageCount = 0
    var tokensUsed = 0
    var costUsd = 0.0
    var updatedSeq: UInt64

    init(sessionId: String, updatedSeq: UInt64) {
        self.sessionId = sessionId
        self.updatedSeq = updatedSeq
    }

    /// The row as a `json_to_recordset` record.
    var record: JSONValue {
        var texts: [String: String?] = [:]
        texts["session_id"] = sessionId
        texts["agent_id"] = agentId
        texts["channel"] = channel
        texts["external_contact"] = externalContact
        texts["crm_contact"] = crmContact
        texts["status"] = status
        texts["handed_off_to"] = handedOffTo
        texts["handoff_reason"] = handoffReason
        texts["opened_at"] = openedAt
        texts["last_message_at"] = lastMessageAt
        texts["closed_at"] = closedAt
        guard case .object(var members) = PostgresJSON.record(texts, numbers: [
            "message_count": Double(messageCount), "tokens_used": Double(tokensUsed), "cost_usd": costUsd, "updated_seq": Double(updatedSeq),
        ]) else { preconditionFailure("a record is an object") }
        members["internal"] = .bool(isInternal)
        return .object(members)
    }

    static let columns = """
        session_id, agent_id, channel, external_contact, crm_contact, status, handed_off_to, handoff_reason, internal, opened_at, \
        last_message_at, closed_at, message_count, tokens_used, cost_usd, updated_seq
        """

    static func decode(_ c: PostgresRandomAccessRow) throws -> SessionRow {
        var r = SessionRow(sessionId: try c[0].decode(String.self), updatedSeq: UInt64(try c[15].decode(Int64.self)))
        r.agentId = try c[1].decode(String?.self)
        r.channel = try c[2].decode(String?.self)
        r.externalContact = try c[3].decode(String?.self)
        r.crmContact = try c[4].decode(String?.self)
        r.status = try c[5].decode(String.self)
        r.handedOffTo = try c[6].decode(String?.self)
        r.handoffReason = try c[7].decode(String?.self)
        r.isInternal = try c[8].decode(Bool.self)
        r.openedAt = try c[9].decode(String?.self)
        r.lastMessageAt = try c[10].decode(String?.self)
        r.closedAt = try c[11].decode(String?.self)
        r.messageCount = Int(try c[12].decode(Int64.self))
        r.tokensUsed = Int(try c[13].decode(Int64.self))
        r.costUsd = try c[14].decode(Double.self)
        return r
    }

    func record(org: String) -> SessionRecord {
        SessionRecord(org: org, sessionId: sessionId, agentId: agentId, channel: channel, externalContact: externalContact, crmContact: crmContact,
                      status: status, handedOffTo: handedOffTo, lastMessageAt: lastMessageAt, messageCount: messageCount, tokensUsed: tokensUsed,
                      costUsd: costUsd, isInternal: isInternal)
    }

    static func fetch(_ connection: PostgresConnection, schema: String, org: String, ids: [String], logger: Logger) async throws -> [SessionRow] {
        var binds = PostgresBindings()
        binds.append(org)
        binds.append(ids)
        var out: [SessionRow] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT \(columns) FROM \(schema).sessions WHERE org = $1 AND session_id = ANY($2)
            """, binds: binds), logger: logger) {
            out.append(try decode(row.makeRandomAccess()))
        }
        return out
    }
}

/// `SessionsReading` on the model in PostgreSQL: the same rows and order as `SessionsQueries`.
public struct PostgresSessionsQueries: SessionsReading {
    public let model: PostgresReadModel

    public init(model: PostgresReadModel) {
        precondition(model.name == SessionsProjector.name, "PostgresSessionsQueries reads the sessions model, not \(model.name)")
        self.model = model
    }



    static func line(_ c: PostgresRandomAccessRow) throws -> TranscriptLine {
        TranscriptLine(seq: UInt64(try c[0].decode(Int64.self)), direction: try c[1].decode(String.self), actorKind: try c[2].decode(String.self),
                       actorId: try c[3].decode(String.self), text: try c[4].decode(String.self), ts: try c[5].decode(String.self))
    }

    public func sessions(org: String, status: String?) async throws -> [SessionRecord] {
        try await model.catchUp(org: org)
        var binds = PostgresBindings.of(org)
        binds.append(status)
        // SQLite puts NULL below every value, so last when descending.
        return try await model.rows("list sessions", """
            SELECT \(SessionRow.columns) FROM {schema}.sessions WHERE org = $1 AND ($2::text IS NULL OR status = $2)
             ORDER BY last_message_at DESC NULLS LAST, session_id
            """, binds) { try SessionRow.decode($0).record(org: org) }
    }

    public func sessionsWithLastMessage(org: String, status: String?) async throws -> [(session: SessionRecord, lastMessage: String?)] {
        try await model.catchUp(org: org)
        var binds = PostgresBindings.of(org)
        binds.append(status)
        let columns = SessionRow.columns.split(separator: ",").map { "s." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")
        let found = try await model.rows("list sessions", """
            SELECT \(columns), (SELECT t.text FROM {schema}.transcript t WHERE t.org = s.org AND t.session_id = s.session_id
                                 ORDER BY t.seq DESC LIMIT 1)
              FROM {schema}.sessions s WHERE s.org = $1 AND ($2::text IS NULL OR s.status = $2)
             ORDER BY s.last_message_at DESC NULLS LAST, s.session_id
            """, binds) { c in SessionWithText(session: try SessionRow.decode(c).record(org: org), text: try c[16].decode(String?.self)) }
        return found.map { ($0.session, $0.text) }
    }

    struct SessionWithText: Sendable {
        var session: SessionRecord
        var text: String?
    }

    public func openSession(org: String, channel: String, contact: String) async throws -> SessionRecord? {
        try await model.catchUp(org: org)
        return try await model.rows("find a session", """
            SELECT \(SessionRow.columns) FROM {schema}.sessions WHERE org = $1 AND channel = $2 AND external_contact = $3 AND status <> 'closed'
             ORDER BY updated_seq DESC LIMIT 1
            """, PostgresBindings.of(org, channel, contact)) { try SessionRow.decode($0).record(org: org) }.first
    }

    public func visitor(tokenHash: String) async throws -> (org: String, visitorId: String, orgAddress: String)? {
        try await model.catchUpAll()
        return try await model.rows("find a webchat visitor", "SELECT org, visitor_id, org_address FROM {schema}.webchat_visitors WHERE token_hash = $1",
                              PostgresBindings.of(tokenHash)) { c in
            (org: try c[0].decode(String.self), visitorId: try c[1].decode(String.self), orgAddress: try c[2].decode(String.self))
        }.first
    }

    public func sentTo(org: String, channel: String, contact: String, afterSeq: UInt64, limit: Int) async throws -> [TranscriptLine] {
        try await model.catchUp(org: org)
        return try await model.rows("read what was sent to a contact", """
            SELECT t.seq, t.direction, t.actor_kind, t.actor_id, t.text, t.ts FROM {schema}.transcript t
              JOIN {schema}.sessions s ON s.org = t.org AND s.session_id = t.session_id
             WHERE s.org = $1 AND s.channel = $2 AND s.external_contact = $3 AND t.direction = 'outbound' AND t.seq > $4
             ORDER BY t.seq LIMIT $5
            """, PostgresBindings.of(org, channel, contact, Int64(clamping: afterSeq), Int64(limit)), Self.line)
    }

    public func session(org: String, id: String) async throws -> SessionRecord? {
        try await model.catchUp(org: org)
        return try await model.rows("read a session", "SELECT \(SessionRow.columns) FROM {schema}.sessions WHERE org = $1 AND session_id = $2",
                              PostgresBindings.of(org, id)) { try SessionRow.decode($0).record(org: org) }.first
    }

    public func transcript(org: String, session: String, last: Int?) async throws -> [TranscriptLine] {
        try await model.catchUp(org: org)
        var binds = PostgresBindings.of(org, session)
        binds.append(last.map(Int64.init))
        return try await model.rows("read a transcript", """
            SELECT * FROM (SELECT seq, direction, actor_kind, actor_id, text, ts FROM {schema}.transcript
                            WHERE org = $1 AND session_id = $2 ORDER BY seq DESC LIMIT $3) t ORDER BY seq
            """, binds, Self.line)
    }
}
