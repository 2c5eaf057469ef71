import EventLog
import EventStore
import Foundation
import PurserCore
import PurserDomain

/// A message admitted in arrival order: its ticket fixes its place among the messages of its
/// conversation.
public struct Admission: Sendable {
    let inbound: Inbound
    let ticket: KeyedSequencer.Ticket
}

/// Everything a turn's stages share.
struct Turn {
    var agent: AgentRef
    var config: OrgAgentConfig
    var session: SessionState
    /// The `message.received` event id: every event of the turn correlates to it.
    var messageEventId: String
    var events: TurnEvents
    var source: String?
    /// Approvals this turn requested, for the outcome line.
    var heldApprovals: [String] = []

    var agentActor: Actor { Actor(.agent, agent.agentId) }

    func outcome(_ kind: TurnOutcome.Kind, reply: String? = nil, replyId: String? = nil, approvalId: String? = nil,
                 reason: String? = nil) -> TurnOutcome {
        TurnOutcome(kind, org: agent.org, agentId: agent.agentId, sessionId: session.id, messageId: messageEventId,
                    reply: reply, replyId: replyId, approvalId: approvalId, reason: reason, source: source)
    }
}

extension Pipeline {
    /// The current turn's model-wait accumulator (a task local, so concurrent turns keep theirs apart).
    @TaskLocal static var modelWait: Locked<UInt64>?

    /// Takes the message's place in its conversation's queue. Call in arrival order (the reader
    /// loop, the webhook handler); `run` may then happen on any task.
    public func admit(_ inbound: Inbound) async -> Admission {
        Admission(inbound: inbound, ticket: await sequencer.ticket(inbound.orderingKey))
    }

    /// Processes an admitted message once the messages before it in its conversation are done.
    public func run(_ admission: Admission) async -> TurnOutcome {
        await sequencer.wait(admission.ticket)
        let started = DispatchTime.now().uptimeNanoseconds
        let modelWait = Locked<UInt64>(0)
        var outcome: TurnOutcome
        do {
            outcome = try await Pipeline.$modelWait.withValue(modelWait) { () async throws(PipelineError) -> TurnOutcome in
                try await handle(admission.inbound)
            }
        } catch {
            logger.error("message from \(admission.inbound.source ?? "input") failed: \(error)")
            outcome = TurnOutcome(.failed, reason: "\(error)", source: admission.inbound.source)
        }
        await sequencer.done(admission.ticket)
        let total = DispatchTime.now().uptimeNanoseconds &- started
        outcome.modelWaitNanos = modelWait.withLock { $0 }
        outcome.engineNanos = total > outcome.modelWaitNanos ? total - outcome.modelWaitNanos : 0
        options.metrics.turn(outcome.kind)
        return outcome
    }

    /// `admit` then `run`, for callers that process one message at a time.
    public func process(_ inbound: Inbound) async -> TurnOutcome {
        await run(await admit(inbound))
    }

    private func handle(_ inbound: Inbound) async throws(PipelineError) -> TurnOutcome {
        // 1. Identify org and agent from the channel binding.
        guard let (ref, orgAddress) = route(inbound) else {
            return try await recordUnrouted(inbound)
        }
        // 2. Load the config in force.
        guard let agentState = agent(ref) else {
            return try await recordUnrouted(inbound, reason: "the binding names agent \(ref) but it has no configuration")
        }
        // 3./4. The session (org + channel + contact); a new one is appended below.
        var session = try await openSession(org: ref.org, agentId: ref.agentId, channel: inbound.channel, contact: inbound.from,
                                      orgAddress: orgAddress, isInternal: inbound.internalAgent != nil)
        let messageId = inbound.eventId
        var turn = Turn(agent: ref, config: agentState.config, session: session, messageEventId: messageId,
                        events: TurnEvents(org: ref.org, correlationId: messageId, clock: clock), source: inbound.source)

        // The message alone first: if the log already has it, nothing else of this turn is written.
        let received = MessageReceived(channel: inbound.channel, from: inbound.from, to: orgAddress, text: inbound.text,
                                       externalMessageId: inbound.externalMessageId, receivedAt: inbound.receivedAt,
                                       contactName: inbound.contactName, subject: inbound.subject, inReplyTo: inbound.inReplyTo,
                                       references: inbound.references, attachments: inbound.attachments, agentId: ref.agentId,
                                       sessionId: session.id, visitorTokenHash: inbound.channel == .webchat ? inbound.visitorTokenHash : nil)
        try turn.events.add(received, stream: session.stream, actor: Actor(.customer, inbound.from), id: messageId)
        let result = try await flush(&turn.events)
        if let result, result.duplicates.first == true {
            let seq = result.seqs.first ?? 1
            if try await turnCompleted(org: ref.org, messageId: messageId, fromSeq: seq) {
                return TurnOutcome(.duplicate, org: ref.org, agentId: ref.agentId, sessionId: session.id, messageId: messageId,
                                   reason: "already processed (seq \(seq))", source: inbound.source)
            }
            logger.notice("message \(messageId) was stored but not answered (the engine stopped mid-turn); answering it now")
        }

        // Contact and session events (staff in an internal session are not CRM contacts).
        if !turn.session.isInternal { try await resolveContact(&turn, inbound: inbound) }
        if turn.session.isNew {
            try turn.events.add(SessionOpened(sessionId: turn.session.id, agentId: ref.agentId, channel: inbound.channel,
                                              externalContactId: inbound.from, crmContactId: turn.session.contactId,
                                              internalSession: turn.session.isInternal),
                                stream: turn.session.stream, actor: .system)
            turn.session.isNew = false
        }
        try await flush(&turn.events)
        session = turn.session
        session.remember(TranscriptEntry(speaker: .customer, who: inbound.contactName ?? inbound.from, text: inbound.text),
                         keeping: options.transcriptMessagesMax)
        turn.session = session
        storeSession(session)

        // A human holds the conversation: the agent stays silent, whatever arrives.
        if session.handedOff {
            return turn.outcome(.handedOff, reason: "a human has this session\(session.handedOffTo.map { " (\($0))" } ?? ""); the agent does not reply")
        }
        // 5. Guardrails that stop the call before anything is spent.
        if let blocked = try await checkGuardrails(&turn, text: inbound.text) {
            return blocked
        }
        // 6.–9. Context, LLM, tool loop, reply.
        let context = try await buildContext(turn)
        return try await agentLoop(&turn, chat: context, firstReservesMessage: true)
    }

    /// Whether the turn of a stored message already ended (a reply, a draft, a hold, a handoff or
    /// a guardrail), read from the org's events after it.
    func turnCompleted(org: String, messageId: String, fromSeq: UInt64) async throws(PipelineError) -> Bool {
        let needle = Array("\"correlationId\":\"\(messageId)\"".utf8)
        var completed = false
        let terminal: Set<String> = [MessageSent.type, MessageDrafted.type, ApprovalRequested.type, SessionHandedOff.type,
                                     GuardrailTripped.type, MessageUnrouted.type]
        do {
            try await store.scan(EventQuery(org: org, fromSeq: fromSeq)) { batch in
                for event in batch where terminal.contains(event.type) {
                    if event.line.withUnsafeBufferPointer({ Self.contains($0, needle) }) {
                        completed = true
                        return false
                    }
                }
                return true
            }
        } catch {
            throw PipelineError(.readModelFailed, "cannot read the log to check message \(messageId)", cause: error)
        }
        return completed
    }

    private static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        var i = 0
        let end = haystack.count - needle.count
        while i <= end {
            if haystack[i] == first {
                var j = 1
                while j < needle.count, haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    private func recordUnrouted(_ inbound: Inbound, reason: String? = nil) async throws(PipelineError) -> TurnOutcome {
        let to = inbound.orgAddresses.first ?? ""
        let why = reason ?? "no agent binds \(inbound.channel.rawValue) \(inbound.orgAddresses.joined(separator: ", "))"
        var events = TurnEvents(org: ReservedOrg.unrouted, correlationId: inbound.eventId, clock: clock)
        let id = try events.add(MessageUnrouted(channel: inbound.channel, from: inbound.from, to: to, text: inbound.text,
                                                externalMessageId: inbound.externalMessageId, receivedAt: inbound.receivedAt,
                                                contactName: inbound.contactName, reason: why),
                                stream: EventStream.inbound, actor: Actor(.customer, inbound.from), id: inbound.eventId)
        let result = try await flush(&events)
        if let result, result.duplicates.first == true {
            return TurnOutcome(.duplicate, org: ReservedOrg.unrouted, messageId: id, reason: "already recorded as unrouted", source: inbound.source)
        }
        return TurnOutcome(.unrouted, org: ReservedOrg.unrouted, messageId: id, reason: why, source: inbound.source)
    }

    /// Keeps input that is not a message (an invalid line, a status update) as `message.rejected`
    /// with its raw bytes, so nothing fed in is lost.
    public func recordRejected(_ rejected: MessageRejected, source: String?) async -> TurnOutcome {
        var events = TurnEvents(org: ReservedOrg.unrouted, correlationId: nil, clock: clock)
        do {
            let id = try events.add(rejected, stream: EventStream.inbound, actor: .system)
            try await flush(&events)
            return TurnOutcome(.rejected, messageId: id, reason: rejected.reason, source: source)
        } catch {
            return TurnOutcome(.failed, reason: "could not record the rejection (\(rejected.reason)): \(error)", source: source)
        }
    }
}
