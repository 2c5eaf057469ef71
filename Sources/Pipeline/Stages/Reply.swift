import EventLog
import Foundation
import PurserDomain

/// Where a reply went.
struct Delivered: Sendable {
    var kind: TurnOutcome.Kind
    var replyId: String
    var approvalId: String?
}

// Stage 9: the reply, by autonomy level — `autonomous` sends (`message.sent`, which is the
// outbox entry), `supervised` drafts and asks a human (`message.drafted` + `approval.requested`),
// `draft_only` only drafts. Staff sessions (internal) never deliver outside: their replies stay
// drafts the dashboard shows.

extension Pipeline {
    /// Adds the reply's events to the turn; the caller flushes.
    ///
    /// - Parameter automaticNotice: the engine's own notice (a guardrail's "a colleague will get
    ///   back to you"), which no model call paid for. Once the day's caps are used up it is not
    ///   sent but drafted for the human who takes the session over: a cap caps everything that
    ///   goes out on its own, notices included.
    func deliver(_ turn: inout Turn, text: String, actor: Actor, automaticNotice: Bool = false) async throws(PipelineError) -> Delivered {
        let session = turn.session
        let replyId = "msg_" + ULID.make(ms: clock().millisecondsSinceEpoch).lowercased()
        let rule = SendRule(turn.config.customProperties.autonomyLevel)
        var capped = false
        if automaticNotice, rule == .send, !session.isInternal {
            let day = clock().utcDay
            try await ensureLedgerLoaded(org: turn.agent.org, agentId: turn.agent.agentId, day: day)
            let key = SpendLedger.key(org: turn.agent.org, agentId: turn.agent.agentId, day: day)
            let properties = turn.config.customProperties
            capped = ledger.withLock { $0.exhausted(key: key, maxUsd: properties.maxCostPerDay, maxMessages: properties.maxMessagesPerDay) }
        }
        if session.isInternal || rule == .draft || capped {
            try turn.events.add(MessageDrafted(messageId: replyId, agentId: turn.agent.agentId, sessionId: session.id,
                                               channel: session.channel, to: session.outboundAddress, text: text,
                                               inReplyTo: turn.messageEventId),
                                stream: session.stream, actor: actor)
            return Delivered(kind: .drafted, replyId: replyId)
        }
        switch rule {
        case .send:
            try turn.events.add(MessageSent(messageId: replyId, agentId: turn.agent.agentId, sessionId: session.id, channel: session.channel,
                                            from: session.orgAddress, to: session.outboundAddress, text: text,
                                            inReplyTo: turn.messageEventId),
                                stream: session.stream, actor: actor)
            turn.session.remember(TranscriptEntry(speaker: .agent, who: turn.agent.agentId, text: text), keeping: options.transcriptMessagesMax)
            return Delivered(kind: .sent, replyId: replyId)
        case .holdForApproval, .draft:
            let approvalId = "apr_" + ULID.make(ms: clock().millisecondsSinceEpoch).lowercased()
            try turn.events.add(MessageDrafted(messageId: replyId, agentId: turn.agent.agentId, sessionId: session.id,
                                               channel: session.channel, to: session.outboundAddress, text: text,
                                               inReplyTo: turn.messageEventId, approvalId: approvalId),
                                stream: session.stream, actor: actor)
            let request = ApprovalRequested(approvalId: approvalId, agentId: turn.agent.agentId, sessionId: session.id, kind: .reply,
                                            replyText: text, messageId: replyId, category: .message, rule: "autonomy.supervised",
                                            summary: "Reply to \(session.contactAddress): \(Self.excerpt(text))",
                                            expiresAt: clock().adding(seconds: options.approvalExpirySeconds))
            let eventId = try turn.events.add(request, stream: session.stream, actor: actor)
            registerApproval(PendingApproval(org: turn.agent.org, request: request, correlationId: turn.messageEventId,
                                             requestedEventId: eventId))
            turn.heldApprovals.append(approvalId)
            return Delivered(kind: .held, replyId: replyId, approvalId: approvalId)
        }
    }

    func registerApproval(_ approval: PendingApproval) {
        state.withLock { $0.approvals[approval.request.approvalId] = approval }
    }

    static func excerpt(_ text: String, charactersMax: Int = 120) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= charactersMax ? flat : String(flat.prefix(charactersMax)) + "…"
    }
}
