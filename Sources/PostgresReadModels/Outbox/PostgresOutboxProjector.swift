import Logging
import OutboxProjection
import PostgresNIO
import Projection
import PurserCore
import PurserDomain

/// The outbox model in PostgreSQL: the outbound messages not yet delivered and the channel ids of
/// delivered ones, the same rows as its SQLite twin (projections/outbox), so a channel's status
/// report reaching any node finds the message another node sent.
///
/// A batch is folded in Swift, in event order, over the rows it touches (read first, inside the
/// catch-up's transaction, which holds the org's checkpoint row), with the SQLite model's rules
/// event by event; then the rows are written back in three statements, whatever the batch's size.
public struct PostgresOutboxProjector: PostgresProjector {
    public init() {}

    public var name: String { OutboxProjector.name }
    /// 1: first version (the SQLite model's version 3).
    public var schemaVersion: Int { 1 }
    public var eventTypes: Set<String> { OutboxProjector().eventTypes }

    public var schemaStatements: [String] {
        [
            """
            CREATE TABLE {schema}.outbox (
                org text COLLATE "C" NOT NULL,
                message_id text COLLATE "C" NOT NULL,
                state text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C",
                session_id text COLLATE "C",
                channel text COLLATE "C" NOT NULL,
                from_address text COLLATE "C",
                to_address text COLLATE "C" NOT NULL,
                text text COLLATE "C" NOT NULL,
                subject text COLLATE "C",
                in_reply_to text COLLATE "C",
                approval_id text COLLATE "C",
                error text COLLATE "C",
                seq bigint NOT NULL,
                created_at text COLLATE "C" NOT NULL,
                PRIMARY KEY (org, message_id)
            )
            """,
            "CREATE INDEX outbox_by_state ON {schema}.outbox (org, state, seq)",
            "CREATE INDEX outbox_by_id ON {schema}.outbox (message_id)",
            """
            CREATE TABLE {schema}.external_ids (
                org text COLLATE "C" NOT NULL,
                channel text COLLATE "C" NOT NULL,
                external_id text COLLATE "C" NOT NULL,
                message_id text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                PRIMARY KEY (org, channel, external_id)
            )
            """,
            "CREATE INDEX external_ids_by_id ON {schema}.external_ids (channel, external_id, seq)",
        ]
    }

    /// One event's change, as the SQLite model applies it.
    enum Change {
        /// `message.sent` (pending) or `message.drafted`.
        case upsert(OutboxRow)
        /// `message.delivered`.
        case delivered(messageId: String, status: String, externalId: String?, error: String?, seq: UInt64)

        var messageId: String {
            switch self {
            case .upsert(let row): row.messageId
            case .delivered(let id, _, _, _, _): id
            }
        }
    }

    /// The change one event makes, or why it cannot be read (synchronous, apart from the async
    /// `apply`: see `PostgresCRMProjector.change(of:)`).
    static func change(of event: ProjectedEvent) -> Result<Change?, ProjectionError> {
        do {
            let p = try PayloadFields(event)
            switch event.type {
            case MessageSent.type, MessageDrafted.type:
                return .success(.upsert(OutboxRow(
                    messageId: try p.string("messageId"), state: event.type == MessageSent.type ? "pending" : "drafted",
                    agentId: p.optionalString("agentId"), sessionId: p.sessionId, channel: try p.string("channel"),
                    from: p.optionalString("from"), to: try p.string("to"), text: try p.string("text"), subject: p.optionalString("subject"),
                    inReplyTo: p.optionalString("inReplyTo"), approvalId: p.optionalString("approvalId"), error: nil, seq: event.seq,
                    createdAt: event.timestampText)))
            case MessageDelivered.type:
                return .success(.delivered(messageId: try p.string("messageId"),
                                           status: p.optionalString("status") ?? MessageDelivered.Status.delivered.rawValue,
                                           externalId: p.optionalString("externalMessageId"), error: p.optionalString("error"), seq: event.seq))
            default:
                return .success(nil)
            }
        } catch let error {
            return .failure(error)
        }
    }

    /// What one batch leaves: each touched message's row (nil: removed), and the channel ids
    /// recorded, keyed by channel and id.
    struct Folded {
        var rows: [String: OutboxRow?] = [:]
        var externalIds: [ExternalKey: (messageId: String, seq: UInt64)] = [:]
    }

    struct ExternalKey: Hashable {
        var channel: String
        var externalId: String
    }

    /// Applies `changes` in order to `stored` (the rows as the model holds them before the batch),
    /// by the SQLite model's rules: a draft later sent becomes pending, a late draft never turns a
    /// pending message back; a delivery records the channel's id (when the message is known),
    /// then removes the message, or marks it failed.
    static func fold(_ changes: [Change], stored: [String: OutboxRow]) -> Folded {
        var folded = Folded()
        func current(_ id: String) -> OutboxRow? {
            if let known = folded.rows[id] { return known }
            return stored[id]
        }
        for change in changes {
            switch change {
            case .upsert(let new):
                guard var row = current(new.messageId) else {
                    folded.rows[new.messageId] = .some(new)
                    continue
                }
                if row.state == "drafted" { row.state = new.state }
                row.text = new.text
                row.subject = new.subject
                row.approvalId = new.approvalId ?? row.approvalId
                row.from = new.from ?? row.from
                row.seq = new.seq
                folded.rows[new.messageId] = .some(row)
            case .delivered(let id, let status, let externalId, let error, let seq):
                guard var row = current(id) else { continue }
                if let externalId { folded.externalIds[ExternalKey(channel: row.channel, externalId: externalId)] = (id, seq) }
                if status == MessageDelivered.Status.failed.rawValue {
                    row.state = "failed"
                    row.error = error ?? "delivery failed"
                    folded.rows[id] = .some(row)
                } else {
                    folded.rows[id] = .some(nil)
                }
            }
        }
        return folded
    }

    public func apply(_ events: [ProjectedEvent], org: String, schema: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var changes: [Change] = []
        var skipped = 0
        for event in events {
            switch Self.change(of: event) {
            case .success(let change?): changes.append(change)
            case .success(nil): break
            case .failure(let error):
                skipped += 1
                logger.warning("read model outbox: skipped event #\(event.seq) of org \(org): \(error.message)")
            }
        }
        guard !changes.isEmpty else { return skipped }
        let ids = Array(Set(changes.map(\.messageId)))
        var stored: [String: OutboxRow] = [:]
        for row in try await OutboxRow.fetch(connection, schema: schema, org: org, ids: ids, logger: logger) { stored[row.messageId] = row }
        let folded = Self.fold(changes, stored: stored)

        let removed = folded.rows.compactMap { $0.value == nil && stored[$0.key] != nil ? $0.key : nil }
        if !removed.isEmpty {
            var binds = PostgresBindings()
            binds.append(org)
            binds.append(removed)
            try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(schema).outbox WHERE org = $1 AND message_id = ANY($2)", binds: binds),
                                       logger: logger)
        }
        let kept = folded.rows.values.compactMap { $0 }
        if !kept.isEmpty {
            try await PostgresJSON.execute("""
                INSERT INTO \(schema).outbox (org, message_id, state, agent_id, session_id, channel, from_address, to_address, text, subject,
                                              in_reply_to, approval_id, error, seq, created_at)
                SELECT $1, u.message_id, u.state, u.agent_id, u.session_id, u.channel, u.from_address, u.to_address, u.text, u.subject,
                       u.in_reply_to, u.approval_id, u.error, u.seq, u.created_at
                  FROM json_to_recordset($2::json) AS u(message_id text, state text, agent_id text, session_id text, channel text,
                       from_address text, to_address text, text text, subject text, in_reply_to text, approval_id text, error text,
                       seq bigint, created_at text)
                ON CONFLICT (org, message_id) DO UPDATE SET state = excluded.state, agent_id = excluded.agent_id,
                    session_id = excluded.session_id, channel = excluded.channel, from_address = excluded.from_address,
                    to_address = excluded.to_address, text = excluded.text, subject = excluded.subject, in_reply_to = excluded.in_reply_to,
                    approval_id = excluded.approval_id, error = excluded.error, seq = excluded.seq, created_at = excluded.created_at
                """, org: org, records: kept.map(\.record), on: connection, logger: logger)
        }
        if !folded.externalIds.isEmpty {
            let records = folded.externalIds.map { key, value in
                PostgresJSON.record(["channel": key.channel, "external_id": key.externalId, "message_id": value.messageId],
                                    numbers: ["seq": Double(value.seq)])
            }
            try await PostgresJSON.execute("""
                INSERT INTO \(schema).external_ids (org, channel, external_id, message_id, seq)
                SELECT $1, u.channel, u.external_id, u.message_id, u.seq
                  FROM json_to_recordset($2::json) AS u(channel text, external_id text, message_id text, seq bigint)
                ON CONFLICT (org, channel, external_id) DO UPDATE SET message_id = excluded.message_id, seq = excluded.seq
                """, org: org, records: records, on: connection, logger: logger)
        }
        return skipped
    }
}

/// One row of the outbox table, as the fold works on it.
struct OutboxRow: Sendable, Equatable {
    var messageId: String
    var state: String
    var agentId: String?
    var sessionId: String?
    var channel: String
    var from: String?
    var to: String
    var text: String
    var subject: String?
    var inReplyTo: String?
    var approvalId: String?
    var error: String?
    var seq: UInt64
    var createdAt: String

    /// The row as a `json_to_recordset` record.
    var record: JSONValue {
        PostgresJSON.record(["message_id": messageId, "state": state, "agent_id": agentId, "session_id": sessionId, "channel": channel,
                             "from_address": from, "to_address": to, "text": text, "subject": subject, "in_reply_to": inReplyTo,
                             "approval_id": approvalId, "error": error, "created_at": createdAt],
                            numbers: ["seq": Double(seq)])
    }

    func record(org: String) -> OutboxRecord {
        OutboxRecord(org: org, messageId: messageId, state: state, agentId: agentId, sessionId: sessionId, channel: channel, from: from,
                     to: to, text: text, error: error, seq: seq)
    }

    static let columns = "message_id, state, agent_id, session_id, channel, from_address, to_address, text, subject, in_reply_to, approval_id, error, seq, created_at"

    static func decode(_ c: PostgresRandomAccessRow) throws -> OutboxRow {
        return OutboxRow(messageId: try c[0].decode(String.self), state: try c[1].decode(String.self), agentId: try c[2].decode(String?.self),
                         sessionId: try c[3].decode(String?.self), channel: try c[4].decode(String.self), from: try c[5].decode(String?.self),
                         to: try c[6].decode(String.self), text: try c[7].decode(String.self), subject: try c[8].decode(String?.self),
                         inReplyTo: try c[9].decode(String?.self), approvalId: try c[10].decode(String?.self), error: try c[11].decode(String?.self),
                         seq: UInt64(try c[12].decode(Int64.self)), createdAt: try c[13].decode(String.self))
    }

    static func fetch(_ connection: PostgresConnection, schema: String, org: String, ids: [String], logger: Logger) async throws -> [OutboxRow] {
        var binds = PostgresBindings()
        binds.append(org)
        binds.append(ids)
        var out: [OutboxRow] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT \(columns) FROM \(schema).outbox WHERE org = $1 AND message_id = ANY($2)
            """, binds: binds), logger: logger) {
            out.append(try decode(row.makeRandomAccess()))
        }
        return out
    }
}

/// `OutboxReading` on the model in PostgreSQL: the org (every org, for a read across orgs)
/// caught up first, then the same rows and order as `OutboxQueries`.
public struct PostgresOutboxQueries: OutboxReading {
    public let model: PostgresReadModel

    public init(model: PostgresReadModel) {
        precondition(model.name == OutboxProjector.name, "PostgresOutboxQueries reads the outbox model, not \(model.name)")
        self.model = model
    }

    private func caughtUp(_ org: String?) async throws {
        if let org { try await model.catchUp(org: org) } else { try await model.catchUpAll() }
    }

    /// Runs `sql` (with `{schema}` for the live schema) and hands each row to `row`.

    public func message(channel: String, externalId: String, org: String?) async throws -> (org: String, messageId: String)? {
        try await caughtUp(org)
        var binds = PostgresBindings()
        binds.append(channel)
        binds.append(externalId)
        binds.append(org)
        let found = try await model.rows("look up a channel's message id", """
            SELECT org, message_id FROM {schema}.external_ids WHERE channel = $1 AND external_id = $2 AND ($3::text IS NULL OR org = $3)
             ORDER BY seq DESC, org LIMIT 1
            """, binds) { (try $0[0].decode(String.self), try $0[1].decode(String.self)) }
        return found.first.map { (org: $0.0, messageId: $0.1) }
    }

    public func message(id: String) async throws -> OutboxRecord? {
        try await caughtUp(nil)
        var binds = PostgresBindings()
        binds.append(id)
        return try await model.rows("look up an outbox message", """
            SELECT \(OutboxRow.columns), org FROM {schema}.outbox WHERE message_id = $1 ORDER BY seq DESC, org LIMIT 1
            """, binds) { try OutboxRow.decode($0).record(org: try $0[14].decode(String.self)) }.first
    }

    public func messages(org: String?, states: [String]) async throws -> [OutboxRecord] {
        try await caughtUp(org)
        var binds = PostgresBindings()
        binds.append(states)
        binds.append(org)
        return try await model.rows("list the outbox", """
            SELECT \(OutboxRow.columns), org FROM {schema}.outbox WHERE state = ANY($1) AND ($2::text IS NULL OR org = $2)
             ORDER BY seq, org, message_id
            """, binds) { try OutboxRow.decode($0).record(org: try $0[14].decode(String.self)) }
    }
}
