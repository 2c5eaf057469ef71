import Audit
import EventLog
import Foundation
import GRDB
import Projection
import PurserDomain
import SessionsProjection
import Testing

/// Item 5, the documented example of schema evolution, end to end in one process:
///
/// 1. The event type changes: `message.received` v1 (`sender`, `recipient`, `mediaUrls`) became
///    v2 (`from`, `to`, `attachments`), with the v1→v2 upcaster in `UpcasterRegistry.standard`.
///    Old lines stay in the log as written; every reader (the sessions read model, replay) sees v2.
/// 2. A projection's schema changes: a read model bumps `schemaVersion` (here a test-local
///    `inbox` model, 1 → 2, adding a column). `status()` — what `purser projections status`
///    prints — says `needsRebuild`; the next catch-up rebuilds it from the log, and the new
///    model answers for old (v1) and new (v2) events alike.
@Suite struct SchemaEvolutionTests {
    /// v1 lines exactly as `purser log append` receives them.
    static let v1Lines = [
        #"{"org":"haff","stream":"session:s1","type":"message.received","v":1,"actor":{"kind":"customer","id":"+49 170 1234567"},"data":{"channel":"whatsapp","sender":"+49 170 1234567","recipient":"+49 3977 1234567","text":"Moin, habt ihr noch Plätze?","receivedAt":"2025-06-01T09:00:00Z","mediaUrls":["https://cdn.example/boot.jpg"]}}"#,
        #"{"org":"haff","stream":"session:s1","type":"message.received","v":1,"actor":{"kind":"customer","id":"+49 170 1234567"},"data":{"channel":"whatsapp","sender":"+49 170 1234567","recipient":"+4939771234567","text":"Und was kostet das?","receivedAt":"2025-06-01T09:05:00Z"}}"#,
    ]
    static let v2Line = #"{"org":"haff","stream":"session:s1","type":"message.received","v":2,"actor":{"kind":"customer","id":"+491701234567"},"data":{"channel":"whatsapp","from":"+491701234567","to":"+4939771234567","text":"Danke!","receivedAt":"2026-11-25T10:00:00Z","references":[],"attachments":[],"agentId":"primary","sessionId":"s1"}}"#

    /// A read model of inbound messages. v1: one row per message with its sender. v2 also keeps
    /// the number of attachments (a new column: the meaning of the rows changed, so the version
    /// is bumped and the model rebuilt).
    struct Inbox: Projector {
        let version: Int
        var name: String { "inbox" }
        var schemaVersion: Int { version }
        var schemaSQL: String {
            version == 1
                ? "CREATE TABLE inbox (seq INTEGER PRIMARY KEY, sender TEXT NOT NULL);"
                : "CREATE TABLE inbox (seq INTEGER PRIMARY KEY, sender TEXT NOT NULL, attachments INTEGER NOT NULL);"
        }
        var eventTypes: Set<String> { [MessageReceived.type] }
        func apply(_ event: ProjectedEvent, _ db: Database) throws {
            let m = try event.decode(MessageReceived.self)
            if version == 1 {
                try db.execute(sql: "INSERT INTO inbox (seq, sender) VALUES (?, ?)", arguments: [Int64(event.seq), m.from])
            } else {
                try db.execute(sql: "INSERT INTO inbox (seq, sender, attachments) VALUES (?, ?, ?)", arguments: [Int64(event.seq), m.from, m.attachments.count])
            }
        }
    }

    @Test func v1EventsReadAsV2AndAProjectionVersionBumpRebuilds() throws {
        let dir = TempDir()
        let log = try EventLog.open(directory: dir.logDirectory, logger: quietLogger)
        for line in Self.v1Lines { _ = try log.appendSync([try EnvelopeParser.parse(Array(line.utf8))]) }
        let v1Inbox = ProjectionStore(projector: Inbox(version: 1), dataDirectory: dir.path, logger: quietLogger)
        try v1Inbox.catchUp()
        _ = try log.appendSync([try EnvelopeParser.parse(Array(Self.v2Line.utf8))])
        log.close()

        // The log keeps the v1 lines byte for byte.
        let replayer = Replayer(reader: LogReader(directory: dir.logDirectory), logger: quietLogger)
        var raw: [String] = []
        try replayer.jsonl(ReplayOptions(org: "haff")) { raw.append(String(decoding: $0, as: UTF8.self)) }
        #expect(raw.count == 3)
        #expect(raw[0].contains(#""v":1"#) && raw[0].contains(#""sender":"+49 170 1234567""#))

        // The sessions read model reads them as v2: normalized `from`, one session, three messages.
        let sessions = ProjectionStore(projector: SessionsProjector(), dataDirectory: dir.path, logger: quietLogger)
        try sessions.catchUp()
        let row = try sessions.read { try Row.fetchOne($0, sql: "SELECT external_contact, message_count FROM sessions WHERE org = 'haff' AND session_id = 's1'") }
        #expect(row?["external_contact"] as String? == "+491701234567")
        #expect(row?["message_count"] as Int? == 3)
        #expect(try sessions.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM transcript WHERE org = 'haff'") } == 3)

        // Replay reads them as v2 too: the sentence names the normalized sender and the attachment.
        let text = try replayer.text(ReplayOptions(org: "haff"))
        let received = text.filter { $0.contains("Wrote on whatsapp from +491701234567") }
        #expect(received.count == 3, "\(text)")
        #expect(received[0].contains("(+1 attachment)"))

        // The projection's schema version goes 1 → 2: status says it needs a rebuild, the
        // catch-up rebuilds it, and the new column answers for old and new events alike.
        let v2Inbox = ProjectionStore(projector: Inbox(version: 2), dataDirectory: dir.path, logger: quietLogger)
        let before = try v2Inbox.status()
        #expect(before.storedSchemaVersion == 1 && before.schemaVersion == 2 && before.needsRebuild)
        let report = try v2Inbox.catchUp()
        #expect(report.rebuilt && report.rebuildReason == "schema version 1 → 2")
        let after = try v2Inbox.status()
        #expect(after.storedSchemaVersion == 2 && !after.needsRebuild && after.checkpoint == 3 && after.lag == 0)
        let rows = try v2Inbox.read { try Row.fetchAll($0, sql: "SELECT sender, attachments FROM inbox ORDER BY seq") }
        #expect(rows.map { $0["sender"] as String } == ["+491701234567", "+491701234567", "+491701234567"])
        #expect(rows.map { $0["attachments"] as Int } == [1, 0, 0])
    }
}
