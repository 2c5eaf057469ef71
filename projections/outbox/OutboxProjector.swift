import Foundation
import GRDB
import Projection
import PurserDomain

/// The outbox read model: replies sent (or drafted) and not yet delivered, for the channel
/// connectors. `message.delivered` with status delivered or read removes a message; a failed
/// delivery keeps it, marked failed with the error.
public struct OutboxProjector: Projector {
    public static let name = "outbox"
    /// 1: first version. 2: `external_ids`, the channel's ids of delivered messages. 3:
    /// `external_ids` keyed by org first.
    public static let schemaVersion = 3

    public init() {}

    public var name: String { Self.name }
    public var schemaVersion: Int { Self.schemaVersion }
    /// The target's `schema.sql`, compiled into the module (Package.swift, `projector`).
    public var schemaSQL: String { String(decoding: PackageResources.schema_sql, as: UTF8.self) }
    public var eventTypes: Set<String> { [MessageDrafted.type, MessageSent.type, MessageDelivered.type] }

    public func apply(_ event: ProjectedEvent, _ db: Database) throws {
        let seq = Int64(event.seq)
        switch event.type {
        case MessageSent.type, MessageDrafted.type:
            let p = try PayloadFields(event)
            let id = try p.string("messageId"), channel = try p.string("channel"), to = try p.string("to"), text = try p.string("text")
            let state = event.type == MessageSent.type ? "pending" : "drafted"
            // A draft that is later sent keeps its row and becomes pending; a late draft event
            // never turns a pending message back into a draft.
            let agent = p.optionalString("agentId"), session = p.sessionId, from = p.optionalString("from")
            let subject = p.optionalString("subject"), inReplyTo = p.optionalString("inReplyTo"), approval = p.optionalString("approvalId")
            try db.run("""
                INSERT INTO outbox (org, message_id, state, agent_id, session_id, channel, from_address, to_address, text, subject,
                    in_reply_to, approval_id, error, seq, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
                ON CONFLICT (org, message_id) DO UPDATE SET
                    state = CASE WHEN outbox.state = 'drafted' THEN excluded.state ELSE outbox.state END,
                    text = excluded.text, subject = excluded.subject, approval_id = coalesce(excluded.approval_id, outbox.approval_id),
                    from_address = coalesce(excluded.from_address, outbox.from_address), seq = excluded.seq
                """) { b in
                b.bind(1, event.org); b.bind(2, id); b.bind(3, state); b.bind(4, agent); b.bind(5, session); b.bind(6, channel)
                b.bind(7, from); b.bind(8, to); b.bind(9, text); b.bind(10, subject); b.bind(11, inReplyTo); b.bind(12, approval)
                b.bind(13, seq); b.bind(14, event.timestampText)
            }
        case MessageDelivered.type:
            let p = try PayloadFields(event)
            let id = try p.string("messageId")
            let status = p.optionalString("status") ?? MessageDelivered.Status.delivered.rawValue
            if let external = p.optionalString("externalMessageId"),
               let channel = try String.fetchOne(db, sql: "SELECT channel FROM outbox WHERE org = ? AND message_id = ?", arguments: [event.org, id]) {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO external_ids (org, channel, external_id, message_id, seq) VALUES (?, ?, ?, ?, ?)")
                    .execute(arguments: [event.org, channel, external, id, Int64(event.seq)])
            }
            if status == MessageDelivered.Status.failed.rawValue {
                try db.cachedStatement(sql: "UPDATE outbox SET state = 'failed', error = ? WHERE org = ? AND message_id = ?")
                    .execute(arguments: [p.optionalString("error") ?? "delivery failed", event.org, id])
            } else {
                try db.run("DELETE FROM outbox WHERE org = ? AND message_id = ?") { b in
                    b.bind(1, event.org); b.bind(2, id)
                }
            }
        default:
            break
        }
    }
}

/// One undelivered outbound message.
public struct OutboxRecord: Sendable, Hashable {
    public var org: String
    public var messageId: String
    /// `drafted`, `pending` or `failed`.
    public var state: String
    public var agentId: String?
    public var sessionId: String?
    public var channel: String
    public var from: String?
    public var to: String
    public var text: String
    public var error: String?
    public var seq: UInt64

    public init(org: String, messageId: String, state: String, agentId: String?, sessionId: String?, channel: String, from: String?,
                to: String, text: String, error: String?, seq: UInt64) {
        self.org = org
        self.messageId = messageId
        self.state = state
        self.agentId = agentId
        self.sessionId = sessionId
        self.channel = channel
        self.from = from
        self.to = to
        self.text = text
        self.error = error
        self.seq = seq
    }
}

/// Where the outbox model is read when it is not the node's SQLite file: the model in
/// PostgreSQL, shared by every node (set by the runtime), so a channel's status reaching any node
/// finds the message another sent. Each read is caught up first; the answers are `OutboxQueries`'.
public protocol OutboxReading: Sendable {
    /// The org and message a channel's id stands for (`OutboxQueries.message(_:channel:externalId:org:)`).
    func message(channel: String, externalId: String, org: String?) async throws -> (org: String, messageId: String)?
    /// One message of the outbox, any state (`OutboxQueries.message(_:id:)`).
    func message(id: String) async throws -> OutboxRecord?
    /// Undelivered messages in seq order (`OutboxQueries.messages`).
    func messages(org: String?, states: [String]) async throws -> [OutboxRecord]
}

/// Queries of the outbox read model.
public enum OutboxQueries {
    /// The org and message a channel's id stands for (recorded when the message was acknowledged):
    /// in `org` when given, else the latest acknowledged with that id in any org.
    public static func message(_ db: Database, channel: String, externalId: String, org: String? = nil) throws -> (org: String, messageId: String)? {
        let row = if let org {
            try Row.fetchOne(db, sql: "SELECT org, message_id FROM external_ids WHERE org = ? AND channel = ? AND external_id = ?",
                             arguments: [org, channel, externalId])
        } else {
            try Row.fetchOne(db, sql: "SELECT org, message_id FROM external_ids WHERE channel = ? AND external_id = ? ORDER BY seq DESC LIMIT 1",
                             arguments: [channel, externalId])
        }
        return row.map { ($0["org"], $0["message_id"]) }
    }

    /// One message of the outbox (any state), for acknowledging it by id.
    public static func message(_ db: Database, id: String) throws -> OutboxRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM outbox WHERE message_id = ? ORDER BY seq DESC LIMIT 1", arguments: [id]).map {
            OutboxRecord(org: $0["org"], messageId: $0["message_id"], state: $0["state"], agentId: $0["agent_id"],
                         sessionId: $0["session_id"], channel: $0["channel"], from: $0["from_address"], to: $0["to_address"],
                         text: $0["text"], error: $0["error"], seq: UInt64($0["seq"] as Int64))
        }
    }

    /// Undelivered messages in seq order, of one org or (for a connector serving all) every org.
    public static func messages(_ db: Database, org: String?, states: [String] = ["pending", "failed"]) throws -> [OutboxRecord] {
        let marks = states.map { _ in "?" }.joined(separator: ", ")
        var args: [any DatabaseValueConvertible] = states
        var sql = "SELECT * FROM outbox WHERE state IN (\(marks))"
        if let org {
            sql += " AND org = ?"
            args.append(org)
        }
        sql += " ORDER BY seq"
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map {
            OutboxRecord(org: $0["org"], messageId: $0["message_id"], state: $0["state"], agentId: $0["agent_id"],
                         sessionId: $0["session_id"], channel: $0["channel"], from: $0["from_address"], to: $0["to_address"],
                         text: $0["text"], error: $0["error"], seq: UInt64($0["seq"] as Int64))
        }
    }
}
