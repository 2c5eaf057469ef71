import Foundation
import GRDB
import Projection
import PurserDomain

/// The sessions read model: state per conversation (docs/ARCHITECTURE.md) and its transcript.
///
/// A session row is created by whichever of its events comes first (`message.received` usually
/// precedes `session.opened`); later events fill in what they know.
public struct SessionsProjector: Projector {
    public static let name = "sessions"
    /// 1: first version. 2: `webchat_visitors` (the hashes of issued visitor tokens). 3: the
    /// transcript keyed by org and position (positions are per org on PostgreSQL).
    public static let schemaVersion = 3

    public init() {}

    public var name: String { Self.name }
    public var schemaVersion: Int { Self.schemaVersion }
    /// The target's `schema.sql`, compiled into the module (Package.swift, `projector`).
    public var schemaSQL: String { String(decoding: PackageResources.schema_sql, as: UTF8.self) }
    public var eventTypes: Set<String> {
        [SessionOpened.type, SessionHandedOff.type, SessionReleased.type, SessionClosed.type, MessageReceived.type,
         MessageSent.type, LLMCompleted.type, ContactResolved.type]
    }

    public func apply(_ event: ProjectedEvent, _ db: Database) throws {
        let seq = Int64(event.seq)
        let at = event.timestampText
        switch event.type {
        case MessageReceived.type:
            let p = try PayloadFields(event)
            let text = try p.string("text"), channel = try p.string("channel"), from = try p.string("from")
            guard let session = p.sessionId else { return }
            // One upsert: a message before its session.opened creates the row with what it knows.
            let agent = p.optionalString("agentId")
            try db.run("""
                INSERT INTO sessions (org, session_id, agent_id, channel, external_contact, status, last_message_at, message_count, updated_seq)
                VALUES (?, ?, ?, ?, ?, 'active', ?, 1, ?)
                ON CONFLICT (org, session_id) DO UPDATE SET last_message_at = excluded.last_message_at,
                    message_count = message_count + 1, updated_seq = excluded.updated_seq
                """) { b in
                b.bind(1, event.org); b.bind(2, session); b.bind(3, agent); b.bind(4, channel); b.bind(5, from); b.bind(6, at); b.bind(7, seq)
            }
            try transcript(db, event, session, direction: "inbound", text: text, at: at)
            if channel == Channel.webchat.rawValue, let hash = p.optionalString("visitorTokenHash") {
                let to = try p.string("to")
                try db.run("""
                    INSERT OR IGNORE INTO webchat_visitors (token_hash, org, visitor_id, org_address, seq) VALUES (?, ?, ?, ?, ?)
                    """) { b in
                    b.bind(1, hash); b.bind(2, event.org); b.bind(3, from); b.bind(4, to); b.bind(5, seq)
                }
            }
        case MessageSent.type:
            let p = try PayloadFields(event)
            let text = try p.string("text")
            guard let session = p.sessionId else { return }
            try db.run("""
                INSERT INTO sessions (org, session_id, status, last_message_at, message_count, updated_seq) VALUES (?, ?, 'active', ?, 1, ?)
                ON CONFLICT (org, session_id) DO UPDATE SET last_message_at = excluded.last_message_at,
                    message_count = message_count + 1, updated_seq = excluded.updated_seq
                """) { b in
                b.bind(1, event.org); b.bind(2, session); b.bind(3, at); b.bind(4, seq)
            }
            try transcript(db, event, session, direction: "outbound", text: text, at: at)
        case LLMCompleted.type:
            let p = try PayloadFields(event)
            let tokens = try p.int("promptTokens") + p.int("completionTokens")
            let cost = try p.double("costUsd")
            guard let session = p.sessionId else { return }
            try db.run("""
                INSERT INTO sessions (org, session_id, status, tokens_used, cost_usd, updated_seq) VALUES (?, ?, 'active', ?, ?, ?)
                ON CONFLICT (org, session_id) DO UPDATE SET tokens_used = tokens_used + excluded.tokens_used,
                    cost_usd = cost_usd + excluded.cost_usd, updated_seq = excluded.updated_seq
                """) { b in
                b.bind(1, event.org); b.bind(2, session); b.bind(3, tokens); b.bind(4, cost); b.bind(5, seq)
            }
        case ContactResolved.type:
            let p = try PayloadFields(event)
            let contact = try p.string("crmContactId")
            guard let session = p.sessionId else { return }
            try db.run("""
                INSERT INTO sessions (org, session_id, status, crm_contact, updated_seq) VALUES (?, ?, 'active', ?, ?)
                ON CONFLICT (org, session_id) DO UPDATE SET crm_contact = excluded.crm_contact, updated_seq = excluded.updated_seq
                """) { b in
                b.bind(1, event.org); b.bind(2, session); b.bind(3, contact); b.bind(4, seq)
            }
        case SessionOpened.type:
            let opened = try event.decode(SessionOpened.self)
            try ensure(db, event, opened.sessionId)
            try db.cachedStatement(sql: """
                UPDATE sessions SET agent_id = ?, channel = ?, external_contact = ?, crm_contact = coalesce(?, crm_contact),
                    internal = ?, opened_at = ?, status = 'active', updated_seq = ? WHERE org = ? AND session_id = ?
                """).execute(arguments: [opened.agentId, opened.channel.rawValue, opened.externalContactId, opened.crmContactId,
                                         opened.internalSession ? 1 : 0, at, seq, event.org, opened.sessionId])
        case SessionHandedOff.type:
            let handoff = try event.decode(SessionHandedOff.self)
            try ensure(db, event, handoff.sessionId)
            try db.cachedStatement(sql: """
                UPDATE sessions SET status = 'handed_off', handed_off_to = ?, handoff_reason = ?, updated_seq = ? WHERE org = ? AND session_id = ?
                """).execute(arguments: [handoff.handedOffTo, handoff.reason, seq, event.org, handoff.sessionId])
        case SessionReleased.type:
            let released = try event.decode(SessionReleased.self)
            try ensure(db, event, released.sessionId)
            try db.cachedStatement(sql: """
                UPDATE sessions SET status = 'active', handed_off_to = NULL, handoff_reason = NULL, updated_seq = ? WHERE org = ? AND session_id = ?
                """).execute(arguments: [seq, event.org, released.sessionId])
        case SessionClosed.type:
            let closed = try event.decode(SessionClosed.self)
            try ensure(db, event, closed.sessionId)
            try db.cachedStatement(sql: "UPDATE sessions SET status = 'closed', closed_at = ?, updated_seq = ? WHERE org = ? AND session_id = ?")
                .execute(arguments: [at, seq, event.org, closed.sessionId])
        default:
            break
        }
    }

    private func ensure(_ db: Database, _ event: ProjectedEvent, _ session: String) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO sessions (org, session_id, status, updated_seq) VALUES (?, ?, 'active', ?)")
            .execute(arguments: [event.org, session, Int64(event.seq)])
    }

    private func transcript(_ db: Database, _ event: ProjectedEvent, _ session: String, direction: String, text: String, at: String) throws {
        try db.run("""
            INSERT OR REPLACE INTO transcript (org, session_id, seq, direction, actor_kind, actor_id, text, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """) { b in
            b.bind(1, event.org); b.bind(2, session); b.bind(3, Int64(event.seq)); b.bind(4, direction)
            b.bind(5, event.actor.kind.rawValue); b.bind(6, event.actor.id); b.bind(7, text); b.bind(8, at)
        }
    }
}

/// One session as the read model holds it.
public struct SessionRecord: Sendable, Hashable {
    public var org: String
    public var sessionId: String
    public var agentId: String?
    public var channel: String?
    public var externalContact: String?
    public var crmContact: String?
    /// `active`, `handed_off` or `closed`.
    public var status: String
    public var handedOffTo: String?
    public var lastMessageAt: String?
    public var messageCount: Int
    public var tokensUsed: Int
    public var costUsd: Double
    /// Staff talking to their own agent (dashboard chat); nothing is delivered outside.
    public var isInternal: Bool = false

    public init(org: String, sessionId: String, agentId: String?, channel: String?, externalContact: String?, crmContact: String?,
                status: String, handedOffTo: String?, lastMessageAt: String?, messageCount: Int, tokensUsed: Int, costUsd: Double,
                isInternal: Bool = false) {
        self.org = org
        self.sessionId = sessionId
        self.agentId = agentId
        self.channel = channel
        self.externalContact = externalContact
        self.crmContact = crmContact
        self.status = status
        self.handedOffTo = handedOffTo
        self.lastMessageAt = lastMessageAt
        self.messageCount = messageCount
        self.tokensUsed = tokensUsed
        self.costUsd = costUsd
        self.isInternal = isInternal
    }
}

/// One line of a transcript.
public struct TranscriptLine: Sendable, Hashable {
    public var seq: UInt64
    /// `inbound` or `outbound`.
    public var direction: String
    public var actorKind: String
    public var actorId: String
    public var text: String
    public var ts: String

    public init(seq: UInt64, direction: String, actorKind: String, actorId: String, text: String, ts: String) {
        self.seq = seq
        self.direction = direction
        self.actorKind = actorKind
        self.actorId = actorId
        self.text = text
        self.ts = ts
    }
}

/// Where the sessions model is read when it is not the node's SQLite file: the model in
/// PostgreSQL, shared by every node (set by the runtime). Each read is caught up first (the
/// org's; every org's for a visitor's token, which names no org); the answers are
/// `SessionsQueries`'.
public protocol SessionsReading: Sendable {
    func sessions(org: String, status: String?) async throws -> [SessionRecord]
    /// `sessions`, each with the text of its transcript's last line (one read, for the dashboard's list).
    func sessionsWithLastMessage(org: String, status: String?) async throws -> [(session: SessionRecord, lastMessage: String?)]
    func openSession(org: String, channel: String, contact: String) async throws -> SessionRecord?
    func visitor(tokenHash: String) async throws -> (org: String, visitorId: String, orgAddress: String)?
    func sentTo(org: String, channel: String, contact: String, afterSeq: UInt64, limit: Int) async throws -> [TranscriptLine]
    func session(org: String, id: String) async throws -> SessionRecord?
    func transcript(org: String, session: String, last: Int?) async throws -> [TranscriptLine]
}

/// Queries of the sessions read model, each scoped to one org.
public enum SessionsQueries {
    public static func sessions(_ db: Database, org: String, status: String? = nil) throws -> [SessionRecord] {
        let rows = status == nil
            ? try Row.fetchAll(db, sql: "SELECT * FROM sessions WHERE org = ? ORDER BY last_message_at DESC, session_id", arguments: [org])
            : try Row.fetchAll(db, sql: "SELECT * FROM sessions WHERE org = ? AND status = ? ORDER BY last_message_at DESC, session_id",
                               arguments: [org, status])
        return rows.map(record)
    }

    /// The contact's newest session on the channel that is not closed (the session key is org +
    /// channel + contact), or nil.
    public static func openSession(_ db: Database, org: String, channel: String, contact: String) throws -> SessionRecord? {
        try Row.fetchOne(db, sql: """
            SELECT * FROM sessions WHERE org = ? AND channel = ? AND external_contact = ? AND status != 'closed'
            ORDER BY updated_seq DESC LIMIT 1
            """, arguments: [org, channel, contact]).map(record)
    }

    /// The webchat visitor a token hash was issued to: their org, visitor id and widget address.
    public static func visitor(_ db: Database, tokenHash: String) throws -> (org: String, visitorId: String, orgAddress: String)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT org, visitor_id, org_address FROM webchat_visitors WHERE token_hash = ?",
                                         arguments: [tokenHash]) else { return nil }
        return (row["org"], row["visitor_id"], row["org_address"])
    }

    /// What was sent to a contact on a channel (every session of theirs), after `afterSeq`, oldest
    /// first: what a webchat visitor may read back.
    public static func sentTo(_ db: Database, org: String, channel: String, contact: String, afterSeq: UInt64, limit: Int) throws -> [TranscriptLine] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT t.* FROM transcript t JOIN sessions s ON s.org = t.org AND s.session_id = t.session_id
            WHERE s.org = ? AND s.channel = ? AND s.external_contact = ? AND t.direction = 'outbound' AND t.seq > ?
            ORDER BY t.seq LIMIT ?
            """, arguments: [org, channel, contact, Int64(afterSeq), limit])
        return rows.map {
            TranscriptLine(seq: UInt64($0["seq"] as Int64), direction: $0["direction"], actorKind: $0["actor_kind"],
                           actorId: $0["actor_id"], text: $0["text"], ts: $0["ts"])
        }
    }

    public static func session(_ db: Database, org: String, id: String) throws -> SessionRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE org = ? AND session_id = ?", arguments: [org, id]).map(record)
    }

    /// The session's transcript, oldest first; with `last`, only the last that many lines.
    public static func transcript(_ db: Database, org: String, session: String, last: Int? = nil) throws -> [TranscriptLine] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT * FROM (SELECT * FROM transcript WHERE org = ? AND session_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq
            """, arguments: [org, session, last ?? -1])
        return rows.map {
            TranscriptLine(seq: UInt64($0["seq"] as Int64), direction: $0["direction"], actorKind: $0["actor_kind"],
                           actorId: $0["actor_id"], text: $0["text"], ts: $0["ts"])
        }
    }

    private static func record(_ row: Row) -> SessionRecord {
        SessionRecord(org: row["org"], sessionId: row["session_id"], agentId: row["agent_id"], channel: row["channel"],
                      externalContact: row["external_contact"], crmContact: row["crm_contact"], status: row["status"],
                      handedOffTo: row["handed_off_to"], lastMessageAt: row["last_message_at"], messageCount: row["message_count"],
                      tokensUsed: row["tokens_used"], costUsd: row["cost_usd"], isInternal: (row["internal"] as Int? ?? 0) != 0)
    }
}
