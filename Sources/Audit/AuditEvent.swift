import EventLog
import Foundation
import Projection
import PurserDomain

/// One event of an org's history as replay and audit see it: the envelope, and the payload
/// decoded through the catalog (upcast to the current version of its type).
///
/// The payload is decoded only when a consumer asks for it, because decoding dominates the cost
/// of reading a history and `replay --format jsonl` never needs it.
public struct AuditEvent: Sendable {
    public var envelope: ProjectedEvent
    /// The stored line, byte for byte (empty when not kept: the audit never needs it).
    public var raw: [UInt8]

    public var seq: UInt64 { envelope.seq }
    public var type: String { envelope.type }
    public var actor: EventActor { envelope.actor }
    public var timestampMs: Int64 { envelope.timestampMs }

    /// Copies what is needed out of a record (its bytes are valid only inside the scan callback).
    /// - Parameter keepRaw: keep the stored line in `raw` (for `replay --format jsonl`).
    public init(_ record: EventRecord, keepRaw: Bool = true) throws(AuditError) {
        do {
            envelope = try ProjectedEvent(record)
        } catch {
            throw AuditError(.log, "event #\(record.seq) (\(record.type)): the envelope cannot be read", cause: error)
        }
        raw = keepRaw ? record.jsonBytes : []
    }

    /// The payload, upcast and decoded; unknown types decode to `.unknown`.
    public func decode() throws(AuditError) -> DomainEvent {
        do {
            return try envelope.decode()
        } catch {
            throw AuditError(.log, "event #\(seq) (\(type) v\(envelope.version)) cannot be decoded", cause: error)
        }
    }

    /// The session the event belongs to: its `session:` stream, else the payload's `sessionId`.
    public func sessionId(_ event: DomainEvent?) -> String? {
        if let id = envelope.streamID(kind: "session") { return id }
        return event.flatMap(Self.sessionReference)
    }

    /// The session a payload names, if any.
    public static func sessionReference(_ event: DomainEvent) -> String? {
        switch event {
        case .messageReceived(let p): p.sessionId
        case .contactResolved(let p): p.sessionId
        case .sessionOpened(let p): p.sessionId
        case .sessionHandedOff(let p): p.sessionId
        case .sessionReleased(let p): p.sessionId
        case .sessionClosed(let p): p.sessionId
        case .llmCompleted(let p): p.sessionId
        case .llmFailed(let p): p.sessionId
        case .toolRequested(let p): p.sessionId
        case .toolDenied(let p): p.sessionId
        case .toolExecuted(let p): p.sessionId
        case .toolFailed(let p): p.sessionId
        case .approvalRequested(let p): p.sessionId
        case .messageDrafted(let p): p.sessionId
        case .messageSent(let p): p.sessionId
        case .costCharged(let p): p.sessionId
        case .guardrailTripped(let p): p.sessionId
        default: nil
        }
    }
}
