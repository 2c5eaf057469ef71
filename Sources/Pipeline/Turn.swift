import EventLog
import Foundation
import PurserCore
import PurserDomain

/// The events of one step of a conversation, collected before they are appended together.
///
/// Every event of a turn names the inbound message as its correlation id and the event before it
/// as its cause, so `replay` and `audit` can follow the chain.
struct TurnEvents {
    let org: String
    let correlationId: String?
    private(set) var lastId: String?
    private(set) var drafts: [EventDraft] = []
    /// Set when the events change what tools read from the crm model (a tool's effects), so the
    /// next read waits for the model to catch up. Contacts the engine creates itself are cached
    /// and do not need that.
    var writesCRM = false
    let clock: @Sendable () -> Timestamp

    init(org: String, correlationId: String?, causedBy: String? = nil, clock: @escaping @Sendable () -> Timestamp) {
        self.org = org
        self.correlationId = correlationId
        self.lastId = causedBy
        self.clock = clock
    }

    var isEmpty: Bool { drafts.isEmpty }

    @discardableResult
    mutating func add<P: EventPayload>(_ payload: P, stream: String, actor: Actor, id: String? = nil) throws(PipelineError) -> String {
        let encoded: EncodedPayload
        do {
            encoded = try EventCatalog.standard.encode(payload)
        } catch {
            throw PipelineError(.appendFailed, "could not encode \(P.type)", cause: error)
        }
        return append(encoded, stream: stream, actor: actor, id: id)
    }

    @discardableResult
    mutating func add(_ event: DomainEvent, stream: String, actor: Actor, id: String? = nil) throws(PipelineError) -> String {
        let encoded: EncodedPayload
        do {
            encoded = try EventCatalog.standard.encode(event)
        } catch {
            // Only a payload this build cannot encode gets here: a programming error, but the
            // turn must fail cleanly rather than crash the engine with other sessions in flight.
            throw PipelineError(.appendFailed, "could not encode \(event.type)", cause: error)
        }
        return append(encoded, stream: stream, actor: actor, id: id)
    }

    private mutating func append(_ encoded: EncodedPayload, stream: String, actor: Actor, id: String?) -> String {
        let ms = clock().millisecondsSinceEpoch
        let eventId = id ?? ULID.make(ms: ms)
        drafts.append(EventDraft(org: org, stream: stream, type: encoded.type, version: encoded.version, data: Array(encoded.data),
                                 actor: actor, id: eventId, timestampMs: ms, correlationId: correlationId, causationId: lastId))
        lastId = eventId
        return eventId
    }

    mutating func take() -> [EventDraft] {
        defer {
            drafts = []
            writesCRM = false
        }
        return drafts
    }

}
