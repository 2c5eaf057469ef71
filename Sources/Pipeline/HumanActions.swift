import EventLog
import Foundation
import LLM
import PurserDomain
import Tools

/// A pending approval as operators see it.
public struct ApprovalSummary: Sendable, Hashable {
    public var approvalId: String
    public var org: String
    public var agentId: String
    public var sessionId: String?
    public var kind: String
    public var tool: String?
    public var arguments: JSONValue?
    public var replyText: String?
    public var category: String?
    public var rule: String
    public var summary: String
    public var expiresAt: String

    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "approvalId": .string(approvalId), "org": .string(org), "agentId": .string(agentId), "kind": .string(kind),
            "rule": .string(rule), "summary": .string(summary), "expiresAt": .string(expiresAt), "state": "pending",
        ]
        if let sessionId { fields["sessionId"] = .string(sessionId) }
        if let tool { fields["tool"] = .string(tool) }
        if let arguments { fields["arguments"] = arguments }
        if let replyText { fields["replyText"] = .string(replyText) }
        if let category { fields["category"] = .string(category) }
        return .object(fields)
    }
}

/// The humans' side of the loop: approvals and takeover. Each action is ordered with the
/// session's messages (it waits for the turn in progress), records who did it, and is refused
/// for an approval or session of another org exactly as for one that does not exist.
///
/// A type of its own rather than more of `Pipeline`: the engine runs turns; this is what people
/// do to them. It shares the engine's state (the pending approvals, the session order), so a
/// human's action and the agent's turn are ordered by the same sequencer.
public struct HumanActions: Sendable {
    let engine: Pipeline

    public init(engine: Pipeline) {
        self.engine = engine
    }

    /// The org's approvals waiting for a human, oldest first.
    public func pendingApprovals(org: String) -> [ApprovalSummary] {
        engine.state.withLock { state in
            state.approvals.values.filter { $0.org == org }.sorted { $0.requestedEventId < $1.requestedEventId }.map { pending in
                let r = pending.request
                return ApprovalSummary(approvalId: r.approvalId, org: pending.org, agentId: r.agentId, sessionId: r.sessionId,
                                       kind: r.kind.rawValue, tool: r.tool, arguments: r.arguments, replyText: r.replyText,
                                       category: r.category?.rawValue, rule: r.rule, summary: r.summary, expiresAt: r.expiresAt.iso8601)
            }
        }
    }

    /// One pending approval by id, whatever its org (for the command line, which may omit it).
    public func pendingApproval(_ approvalId: String) -> ApprovalSummary? {
        guard let org = engine.state.withLock({ $0.approvals[approvalId]?.org }) else { return nil }
        return pendingApprovals(org: org).first { $0.approvalId == approvalId }
    }

    /// Approves a held tool call or reply, optionally edited; runs it and resumes the agent.
    ///
    /// Two operators deciding at once: the first to claim it wins, the other gets
    /// `alreadyDecided` (the decision is also appended with "stream `approval:<id>` must be
    /// empty", so even two processes could not both decide).
    public func approve(org: String, approvalId: String, by human: String, editedArguments: JSONValue? = nil,
                        editedText: String? = nil) async throws(PipelineError) -> TurnOutcome {
        let pending = try await claim(org: org, approvalId: approvalId)
        let request = pending.request
        if editedArguments != nil, request.kind != .toolCall {
            unclaim(pending)
            throw PipelineError(.invalidInput, "approval \(approvalId) holds a reply; edit its text, not tool arguments")
        }
        if editedText != nil, request.kind != .reply {
            unclaim(pending)
            throw PipelineError(.invalidInput, "approval \(approvalId) holds a \(request.tool ?? "tool") call; edit its arguments, not a text")
        }
        if let editedArguments, let tool = request.tool, let definition = engine.registry[tool],
           let problem = ArgumentSchema.validate(editedArguments, against: definition.parameters) {
            unclaim(pending)
            throw PipelineError(.invalidInput, "the edited arguments do not fit \(tool): \(problem.message)\(problem.field.map { " at \($0)" } ?? "")")
        }
        return try await withSession(of: pending) { pipeline, turn throws(PipelineError) in
            var diff: [FieldChange] = []
            if let editedArguments, let original = request.arguments { diff = JSONValue.diff(from: original, to: editedArguments) }
            if let editedText, let original = request.replyText {
                diff = [FieldChange(path: "text", before: .string(original), after: .string(editedText))]
            }
            try turn.events.add(ApprovalGranted(approvalId: approvalId, decidedBy: human, editedArguments: editedArguments,
                                                editedText: editedText, diff: diff),
                                stream: Self.approvalStream(approvalId), actor: Actor(.human, human))
            try await self.flushDecision(&turn, pending)

            switch request.kind {
            case .reply:
                let text = editedText ?? request.replyText ?? ""
                if turn.session.handedOff {
                    // The human holds the session: the agent's draft may not go out in its name.
                    return turn.outcome(.handedOff, approvalId: approvalId, reason: "approved, but the engine.session is taken over; the draft was not sent — reply as a human instead")
                }
                try turn.events.add(MessageSent(messageId: request.messageId ?? "msg_" + ULID.make().lowercased(), agentId: request.agentId,
                                                sessionId: turn.session.id, channel: turn.session.channel, from: turn.session.orgAddress,
                                                to: turn.session.outboundAddress, text: text, inReplyTo: turn.messageEventId,
                                                approvalId: approvalId),
                                    stream: turn.session.stream, actor: turn.agentActor)
                turn.session.remember(TranscriptEntry(speaker: .agent, who: request.agentId, text: text), keeping: pipeline.options.transcriptMessagesMax)
                try await pipeline.flush(&turn.events)
                pipeline.storeSession(turn.session)
                return turn.outcome(.sent, reply: text, replyId: request.messageId, approvalId: approvalId)
            case .toolCall:
                let tool = request.tool ?? ""
                let arguments = editedArguments ?? request.arguments ?? .emptyObject
                let callId = request.callId ?? "call_" + approvalId
                let outcome: ToolOutcome
                // The config may have changed since the call was held: a tool disabled meanwhile stays refused.
                if case .deny(let reason, let rule) = ToolPolicy.decide(config: turn.config, tool: tool, arguments: arguments, catalog: pipeline.registry.catalog) {
                    try turn.events.add(ToolDenied(agentId: request.agentId, sessionId: turn.session.id, callId: callId, tool: tool,
                                                   rule: rule.rawValue, reason: reason), stream: turn.session.stream, actor: .system)
                    outcome = ToolOutcome(error: ToolError(.toolUnavailable, "\(reason); the approved call was not run"))
                } else {
                    outcome = try await pipeline.execute(&turn, tool: tool, callId: callId, arguments: arguments,
                                                         category: request.category, approvalId: approvalId)
                }
                try await pipeline.flush(&turn.events)
                return try await self.resume(&turn, call: LLM.ToolCall(id: callId, name: tool, arguments: arguments.serialized()),
                                                 result: outcome.result, approvalId: approvalId)
            }
        }
    }

    /// Rejects a held call or reply; a rejected tool call's reason is fed back to the agent.
    public func reject(org: String, approvalId: String, by human: String, reason: String?) async throws(PipelineError) -> TurnOutcome {
        let pending = try await claim(org: org, approvalId: approvalId)
        let request = pending.request
        return try await withSession(of: pending) { pipeline, turn throws(PipelineError) in
            try turn.events.add(ApprovalRejected(approvalId: approvalId, decidedBy: human, reason: reason),
                                stream: Self.approvalStream(approvalId), actor: Actor(.human, human))
            try await self.flushDecision(&turn, pending)
            guard request.kind == .toolCall, let tool = request.tool else {
                return turn.outcome(.drafted, replyId: request.messageId, approvalId: approvalId, reason: "the reply was rejected and stays an unsent draft")
            }
            let callId = request.callId ?? "call_" + approvalId
            let fed: JSONValue = ["error": ["code": "rejected_by_human",
                                            "message": .string("A person at the organization rejected this action\(reason.map { ": \($0)" } ?? ""). Do not retry it; tell the customer.")]]
            return try await self.resume(&turn, call: LLM.ToolCall(id: callId, name: tool, arguments: (request.arguments ?? .emptyObject).serialized()),
                                             result: fed, approvalId: approvalId)
        }
    }

    /// Closes every approval whose expiry has passed (`approval.expired`); nothing held runs.
    @discardableResult
    public func expireApprovals() async throws(PipelineError) -> [String] {
        let now = engine.clock()
        let due = engine.state.withLock { state in state.approvals.values.filter { $0.request.expiresAt <= now } }
        var expired: [String] = []
        for pending in due {
            guard let claimed = try? await claim(org: pending.org, approvalId: pending.request.approvalId) else { continue }
            var events = TurnEvents(org: claimed.org, correlationId: claimed.correlationId, causedBy: claimed.requestedEventId, clock: engine.clock)
            try events.add(ApprovalExpired(approvalId: claimed.request.approvalId, expiresAt: claimed.request.expiresAt),
                           stream: Self.approvalStream(claimed.request.approvalId), actor: Actor(.system, "approval-expiry"))
            do {
                try await engine.flush(&events, expecting: [ExpectedVersion(org: claimed.org, stream: Self.approvalStream(claimed.request.approvalId), version: 0)])
                expired.append(claimed.request.approvalId)
            } catch {
                engine.logger.warning("could not expire approval \(claimed.request.approvalId): \(error)")
            }
        }
        return expired
    }

    /// An operator takes the conversation over: the agent sends nothing in it until released.
    public func takeover(org: String, sessionId: String, by human: String) async throws(PipelineError) -> TurnOutcome {
        try await withSession(org: org, sessionId: sessionId) { pipeline, turn throws(PipelineError) in
            try turn.events.add(SessionHandedOff(sessionId: sessionId, trigger: .takeover, reason: "taken over by \(human)", handedOffTo: human),
                                stream: turn.session.stream, actor: Actor(.human, human))
            turn.session.handedOff = true
            turn.session.handedOffTo = human
            try await pipeline.flush(&turn.events)
            pipeline.storeSession(turn.session)
            return turn.outcome(.handedOff, reason: "taken over by \(human)")
        }
    }

    /// A human's reply in the session, delivered through the outbox like the agent's.
    public func humanReply(org: String, sessionId: String, by human: String, text: String) async throws(PipelineError) -> TurnOutcome {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw PipelineError(.invalidInput, "the reply is empty; write the text to send") }
        return try await withSession(org: org, sessionId: sessionId) { pipeline, turn throws(PipelineError) in
            let replyId = "msg_" + ULID.make().lowercased()
            try turn.events.add(MessageSent(messageId: replyId, agentId: turn.agent.agentId, sessionId: sessionId, channel: turn.session.channel,
                                            from: turn.session.orgAddress, to: turn.session.outboundAddress, text: trimmed),
                                stream: turn.session.stream, actor: Actor(.human, human))
            turn.session.remember(TranscriptEntry(speaker: .human, who: human, text: trimmed), keeping: pipeline.options.transcriptMessagesMax)
            try await pipeline.flush(&turn.events)
            pipeline.storeSession(turn.session)
            return turn.outcome(.sent, reply: trimmed, replyId: replyId)
        }
    }

    /// Gives the session back to the agent, which resumes with the human's messages in its context.
    public func release(org: String, sessionId: String, by human: String) async throws(PipelineError) -> TurnOutcome {
        try await withSession(org: org, sessionId: sessionId) { pipeline, turn throws(PipelineError) in
            guard turn.session.handedOff else {
                throw PipelineError(.invalidState, "engine.session \(sessionId) is not held by a human; there is nothing to release")
            }
            try turn.events.add(SessionReleased(sessionId: sessionId, releasedBy: human), stream: turn.session.stream, actor: Actor(.human, human))
            turn.session.handedOff = false
            turn.session.handedOffTo = nil
            try await pipeline.flush(&turn.events)
            pipeline.storeSession(turn.session)
            return turn.outcome(.sent, reason: "released to the engine.agent by \(human)")
        }
    }

    // MARK: - Plumbing

    static func approvalStream(_ approvalId: String) -> String { "approval:\(approvalId)" }

    /// Takes the approval out of the pending set; the caller that gets it decides it.
    private func claim(org: String, approvalId: String) async throws(PipelineError) -> PendingApproval {
        let (claimed, wasClaimed): (PendingApproval?, Bool) = engine.state.withLock { state in
            guard let pending = state.approvals[approvalId], pending.org == org else {
                return (nil, state.claimedApprovals[approvalId] == org)
            }
            state.approvals[approvalId] = nil
            state.claimedApprovals[approvalId] = org
            return (pending, false)
        }
        guard let claimed else {
            let decided = try await engine.streamVersion(org: org, stream: Self.approvalStream(approvalId)) > 0
            if wasClaimed || decided {
                throw PipelineError(.alreadyDecided, "approval \(approvalId) was already decided or has expired")
            }
            throw PipelineError(.notFound, "org \(org) has no pending approval \(approvalId)")
        }
        return claimed
    }

    private func unclaim(_ pending: PendingApproval) {
        engine.state.withLock { $0.claimedApprovals[pending.request.approvalId] = nil }
        engine.registerApproval(pending)
    }

    /// Appends the decision with "the approval's stream must be empty": the log refuses a second.
    private func flushDecision(_ turn: inout Turn, _ pending: PendingApproval) async throws(PipelineError) {
        let stream = Self.approvalStream(pending.request.approvalId)
        do {
            try await engine.flush(&turn.events, expecting: [ExpectedVersion(org: pending.org, stream: stream, version: 0)])
        } catch {
            if (try? await engine.streamVersion(org: pending.org, stream: stream)) ?? 0 > 0 {
                throw PipelineError(.alreadyDecided, "approval \(pending.request.approvalId) was already decided", cause: error)
            }
            unclaim(pending)
            throw error
        }
    }

    /// Feeds the approved (or rejected) call's result to the agent and lets it answer, unless a
    /// human holds the session.
    private func resume(_ turn: inout Turn, call: LLM.ToolCall, result: JSONValue, approvalId: String) async throws(PipelineError) -> TurnOutcome {
        if turn.session.handedOff {
            return turn.outcome(.handedOff, approvalId: approvalId, reason: "the decision was carried out; the engine.session is held by a human, so the engine.agent does not reply")
        }
        guard engine.agent(turn.agent)?.status == .active else {
            return turn.outcome(.blocked, approvalId: approvalId, reason: "the decision was carried out; the engine.agent is not active, so it does not reply")
        }
        var chat = try await engine.buildContext(turn)
        chat.messages.append(.assistant(nil, toolCalls: [call]))
        chat.messages.append(.tool(callId: call.id, content: result.serialized()))
        var outcome = try await engine.agentLoop(&turn, chat: chat, firstReservesMessage: true)
        if outcome.approvalId == nil { outcome.approvalId = approvalId }
        return outcome
    }

    private func withSession(of pending: PendingApproval,
                             _ body: (Pipeline, inout Turn) async throws(PipelineError) -> TurnOutcome) async throws(PipelineError) -> TurnOutcome {
        guard let sessionId = pending.request.sessionId else {
            unclaim(pending)
            throw PipelineError(.invalidState, "approval \(pending.request.approvalId) belongs to no session")
        }
        do {
            return try await withSession(org: pending.org, sessionId: sessionId, correlationId: pending.correlationId,
                                         causedBy: pending.requestedEventId, body)
        } catch {
            if error.code == .notFound { unclaim(pending) }
            throw error
        }
    }

    /// Runs `body` in the session's order (after the message being processed, before the next).
    private func withSession(org: String, sessionId: String, correlationId: String? = nil, causedBy: String? = nil,
                             _ body: (Pipeline, inout Turn) async throws(PipelineError) -> TurnOutcome) async throws(PipelineError) -> TurnOutcome {
        guard let first = try await engine.session(org: org, id: sessionId) else {
            throw PipelineError(.notFound, "org \(org) has no engine.session \(sessionId)")
        }
        let ref = AgentRef(org: org, agentId: first.agentId)
        guard let agentState = engine.agent(ref) else {
            throw PipelineError(.notFound, "engine.session \(sessionId) belongs to engine.agent \(first.agentId), which has no configuration")
        }
        let ticket = await engine.sequencer.ticket("\(first.channel.rawValue)|\(first.orgAddress)|\(first.contactAddress)")
        await engine.sequencer.wait(ticket)
        do {
            // Re-read after waiting: the turn before may have changed it.
            let current = try await engine.session(org: org, id: sessionId) ?? first
            let correlation = correlationId ?? ("op_" + ULID.make().lowercased())
            var turn = Turn(agent: ref, config: agentState.config, session: current, messageEventId: correlation,
                            events: TurnEvents(org: org, correlationId: correlation, causedBy: causedBy, clock: engine.clock), source: nil)
            let outcome = try await body(engine, &turn)
            await engine.sequencer.done(ticket)
            return outcome
        } catch {
            await engine.sequencer.done(ticket)
            throw error
        }
    }
}
