import EventLog
import Foundation
import OutboxProjection
import PurserDomain

/// What became of sent messages: channel connectors acknowledge them (`purser outbox ack`), and
/// channels report later statuses (WhatsApp's delivered/read/failed webhooks).
extension Pipeline {
    /// Records a delivery report for an outbox message (`message.delivered`). The message's org
    /// comes from the outbox, never from the caller.
    public func acknowledge(messageId: String, status: MessageDelivered.Status = .delivered, externalId: String? = nil,
                            error: String? = nil, by actor: String) async throws(PipelineError) -> TurnOutcome {
        guard let record = try await outboxMessage(id: messageId) else {
            throw PipelineError(.notFound, "no message \(messageId) in the outbox (already delivered, or never sent)")
        }
        var events = TurnEvents(org: record.org, correlationId: nil, clock: clock)
        try events.add(MessageDelivered(messageId: messageId, status: status, externalMessageId: externalId, deliveredAt: clock(), error: error),
                       stream: record.sessionId.map(EventStream.session) ?? "outbox", actor: Actor(.system, actor))
        try await flush(&events)
        return TurnOutcome(.sent, org: record.org, agentId: record.agentId, sessionId: record.sessionId, replyId: messageId,
                           reason: "\(status.rawValue)\(externalId.map { " as \($0)" } ?? "")")
    }

    /// A channel's status report for a message it carries. Known (acknowledged earlier with the
    /// channel's id): recorded as `message.delivered`. Unknown: kept as `message.rejected`, as
    /// every input that is not a message is.
    ///
    /// - Parameter restrictedTo: when set (a webhook verified for one org), the status is matched
    ///   only against that org's messages (`.some(nil)`: against none); unset, against any org's.
    public func recordStatus(channel: Channel, externalId: String, status: String, error: String?,
                             raw: Data, source: String?, lineNumber: Int?, format: String?,
                             restrictedTo: String?? = .none) async -> TurnOutcome {
        let mapped: MessageDelivered.Status? = switch status.lowercased() {
        case "delivered": .delivered
        case "read": .read
        case "failed", "undelivered": .failed
        default: nil
        }
        do {
            // Restricted to one org: looked up in that org only, so another org's message with the
            // same channel id can neither answer nor hide it.
            let org: String? = restrictedTo ?? nil
            if let mapped, restrictedTo != .some(nil), let known = try await outboxMessage(channel: channel.rawValue, externalId: externalId, org: org),
               restrictedTo.map({ $0 == known.org }) ?? true {
                var events = TurnEvents(org: known.org, correlationId: nil, clock: clock)
                try events.add(MessageDelivered(messageId: known.messageId, status: mapped, externalMessageId: externalId, deliveredAt: clock(),
                                                error: error),
                               stream: "outbox", actor: Actor(.system, "webhook:\(channel.rawValue)"))
                try await flush(&events)
                return TurnOutcome(.sent, org: known.org, replyId: known.messageId, reason: "status \(mapped.rawValue)", source: source)
            }
        } catch {
            logger.warning("status \(status) for \(externalId) not recorded as a delivery: \(error)")
        }
        return await recordRejected(
            MessageRejected(code: "not_a_message", reason: "a \(channel.rawValue) status update (\(status)) for \(externalId), which Purser has no sent message for, is not a message",
                            source: source, lineNumber: lineNumber, format: format, channel: channel, raw: raw),
            source: source)
    }

    /// An outbox message by id, from the model the engine reads (in PostgreSQL when kept there,
    /// else the node's, caught up first).
    func outboxMessage(id: String) async throws(PipelineError) -> OutboxRecord? {
        guard let shared = options.outbox else {
            try await refresh(OutboxProjector.name)
            return try await models.read(OutboxProjector.name) { db in try OutboxQueries.message(db, id: id) }
        }
        do {
            return try await shared.message(id: id)
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the outbox read model", cause: error)
        }
    }

    /// The org and message a channel's id stands for, from the model the engine reads.
    func outboxMessage(channel: String, externalId: String, org: String?) async throws(PipelineError) -> (org: String, messageId: String)? {
        guard let shared = options.outbox else {
            try await refresh(OutboxProjector.name)
            return try await models.read(OutboxProjector.name) { db in try OutboxQueries.message(db, channel: channel, externalId: externalId, org: org) }
        }
        do {
            return try await shared.message(channel: channel, externalId: externalId, org: org)
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the outbox read model", cause: error)
        }
    }
}
