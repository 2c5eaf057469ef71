import EventLog
import Foundation
import LLM
import PurserDomain
import Tools

/// What the model is told about one of its tool calls.
struct FedResult: Sendable {
    var result: JSONValue
    var handsOff: Bool
}

// Stage 8: each tool call the model makes goes through the policy — executed, denied with the
// reason fed back, or held as `approval.requested`. The model's arguments are validated against
// the tool's schema before anything runs; the org, agent and session come from the engine.

extension Pipeline {
    func runToolCall(_ turn: inout Turn, _ call: LLM.ToolCall) async throws(PipelineError) -> FedResult {
        let agentId = turn.agent.agentId
        let sessionId = turn.session.id
        let stream = turn.session.stream
        let arguments: JSONValue
        do {
            arguments = try JSONValue(parsing: call.arguments)
        } catch {
            try turn.events.add(ToolRequested(agentId: agentId, sessionId: sessionId, callId: call.id, tool: call.name,
                                              arguments: .string(call.arguments)), stream: stream, actor: turn.agentActor)
            let failure = ToolError(.invalidJSON, "the arguments of \(call.name) are not valid JSON (\(error)); send a JSON object that matches the tool's schema")
            try turn.events.add(ToolFailed(agentId: agentId, sessionId: sessionId, callId: call.id, tool: call.name,
                                           arguments: .string(call.arguments), error: failure.message, code: failure.code.rawValue,
                                           durationMs: 0), stream: stream, actor: turn.agentActor)
            return FedResult(result: failure.json, handsOff: false)
        }
        let category = registry.category(of: call.name, arguments: arguments)
        try turn.events.add(ToolRequested(agentId: agentId, sessionId: sessionId, callId: call.id, tool: call.name,
                                          arguments: arguments, category: category), stream: stream, actor: turn.agentActor)

        switch ToolPolicy.decide(config: turn.config, tool: call.name, arguments: arguments, catalog: registry.catalog) {
        case .deny(let reason, let rule):
            try turn.events.add(ToolDenied(agentId: agentId, sessionId: sessionId, callId: call.id, tool: call.name,
                                           rule: rule.rawValue, reason: reason), stream: stream, actor: .system)
            return FedResult(result: ["error": ["code": "denied", "message": .string("\(reason). The policy forbids this call; do not retry it. Tell the customer what you cannot do, or call \(Tools.ToolDefinition.handoff.name).")]],
                             handsOff: false)

        case .needsApproval(let reason, let rule):
            // An invalid call is refused now rather than held: a human should not approve junk.
            if let definition = registry[call.name], let problem = ArgumentSchema.validate(arguments, against: definition.parameters) {
                try turn.events.add(ToolFailed(agentId: agentId, sessionId: sessionId, callId: call.id, tool: call.name, arguments: arguments,
                                               error: problem.message, code: problem.code.rawValue, durationMs: 0),
                                    stream: stream, actor: turn.agentActor)
                return FedResult(result: problem.json, handsOff: false)
            }
            let approvalId = "apr_" + ULID.make(ms: clock().millisecondsSinceEpoch).lowercased()
            let request = ApprovalRequested(approvalId: approvalId, agentId: agentId, sessionId: sessionId, kind: .toolCall,
                                            callId: call.id, tool: call.name, arguments: arguments, category: category,
                                            rule: rule.rawValue, summary: "\(call.name) \(Self.excerpt(arguments.serialized(), charactersMax: 160)) — \(reason)",
                                            expiresAt: clock().adding(seconds: options.approvalExpirySeconds))
            let eventId = try turn.events.add(request, stream: stream, actor: turn.agentActor)
            registerApproval(PendingApproval(org: turn.agent.org, request: request, correlationId: turn.messageEventId, requestedEventId: eventId))
            turn.heldApprovals.append(approvalId)
            return FedResult(result: ["status": "pending_approval", "approvalId": .string(approvalId),
                                      "message": "A person at the organization must approve this action first. Tell the customer it is being checked; do not claim it is done."],
                             handsOff: false)

        case .allow:
            let outcome = try await execute(&turn, tool: call.name, callId: call.id, arguments: arguments, category: category, approvalId: nil)
            return FedResult(result: outcome.result, handsOff: outcome.handsOff)
        }
    }

    /// Runs an allowed (or approved) call and adds `tool.executed` with its effects, or
    /// `tool.failed`. Calls that change data run one at a time per org, after the crm model has
    /// caught up with the org's last write, so a booking's conflict check sees every booking.
    func execute(_ turn: inout Turn, tool: String, callId: String, arguments: JSONValue, category: ActionCategory?,
                 approvalId: String?) async throws(PipelineError) -> ToolOutcome {
        let writes = category != nil && category != .read
        var ticket: KeyedSequencer.Ticket?
        if writes {
            let taken = await sequencer.ticket("tools|" + turn.agent.org)
            await sequencer.wait(taken)
            ticket = taken
        }
        do {
            let outcome = try await executeOrdered(&turn, tool: tool, callId: callId, arguments: arguments, approvalId: approvalId)
            if writes { try await flush(&turn.events) }
            if let ticket { await sequencer.done(ticket) }
            return outcome
        } catch {
            if let ticket { await sequencer.done(ticket) }
            throw error
        }
    }

    private func executeOrdered(_ turn: inout Turn, tool: String, callId: String, arguments: JSONValue,
                                approvalId: String?) async throws(PipelineError) -> ToolOutcome {
        try await models.ensure("crm", org: turn.agent.org, upTo: state.withLock { $0.crmWritten[turn.agent.org] ?? 0 })
        let session = turn.session
        let context = ToolContext(org: turn.agent.org, agentId: turn.agent.agentId, now: clock(), config: turn.config,
                                  sessionId: session.id, contactId: session.contactId, channel: session.channel,
                                  contactAddress: session.contactAddress, orgAddress: session.orgAddress,
                                  internalSession: session.isInternal,
                                  makeId: { prefix in prefix + ULID.make().lowercased() })
        let started = ContinuousClock.now
        let outcome = await registry.call(tool, arguments: arguments, context: context)
        let elapsed = ContinuousClock.now - started
        let durationMs = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let stream = session.stream
        if let error = outcome.error {
            try turn.events.add(ToolFailed(agentId: turn.agent.agentId, sessionId: session.id, callId: callId, tool: tool,
                                           arguments: arguments, error: error.message, code: error.code.rawValue,
                                           durationMs: durationMs, approvalId: approvalId),
                                stream: stream, actor: turn.agentActor)
            return outcome
        }
        try turn.events.add(ToolExecuted(agentId: turn.agent.agentId, sessionId: session.id, callId: callId, tool: tool,
                                         arguments: arguments, result: outcome.result, durationMs: durationMs, approvalId: approvalId),
                            stream: stream, actor: turn.agentActor)
        for effect in outcome.effects {
            try turn.events.add(effect.event, stream: effect.stream, actor: turn.agentActor)
            if effect.event.type.hasPrefix("object.") || effect.event.type.hasPrefix("link.") { turn.events.writesCRM = true }
            switch effect.event {
            case .messageSent(let sent) where sent.sessionId == session.id:
                turn.session.remember(TranscriptEntry(speaker: .agent, who: turn.agent.agentId, text: sent.text),
                                      keeping: options.transcriptMessagesMax)
            case .sessionHandedOff(let handoff) where handoff.sessionId == session.id:
                turn.session.handedOff = true
                turn.session.handedOffTo = nil
            default:
                break
            }
        }
        storeSession(turn.session)
        return outcome
    }
}
