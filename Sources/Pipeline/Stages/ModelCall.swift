import EventLog
import Foundation
import LLM
import PurserDomain

// Stages 7 and 8: the model call with its cost reservation, and the loop that feeds tool
// results back until the model answers, hands off, or runs out of iterations.

extension Pipeline {
    func agentLoop(_ turn: inout Turn, chat context: ChatContext, firstReservesMessage: Bool) async throws(PipelineError) -> TurnOutcome {
        var chat = context
        var reservesMessage = firstReservesMessage
        let properties = turn.config.customProperties
        let model = ModelRef(provider: properties.modelProvider, id: properties.modelId)
        let provider = await orgProvider(turn.agent.org) ?? self.provider
        let modelID = provider.modelID(for: model)
        for iteration in 1...options.toolIterationsMax {
            let request = ChatRequest(model: model, messages: chat.messages, tools: chat.tools, temperature: properties.temperature,
                                      maxTokens: properties.maxTokens, grounding: chat.grounding)

            // Reserve the worst case before the call: prompt estimate + maxTokens at the model's price.
            let worst = prices.worstCaseCost(promptTokensEstimate: TokenEstimator.promptTokens(request),
                                             maxTokens: properties.maxTokens, model: modelID)
            let day = clock().utcDay
            try await ensureLedgerLoaded(org: turn.agent.org, agentId: turn.agent.agentId, day: day)
            let reservationId = "res_" + ULID.make(ms: clock().millisecondsSinceEpoch).lowercased()
            let key = SpendLedger.key(org: turn.agent.org, agentId: turn.agent.agentId, day: day)
            let reserved = ledger.withLock {
                $0.reserve(key: key, day: day, id: reservationId, usd: worst, messages: reservesMessage ? 1 : 0,
                           maxUsd: properties.maxCostPerDay, maxMessages: properties.maxMessagesPerDay)
            }
            let reservation: SpendLedger.Reservation
            switch reserved {
            case .success(let granted):
                reservation = granted
            case .failure(.messages(let limit, let used)):
                return try await trip(&turn, .maxMessagesPerDay, detail: "\(used) of \(limit) messages used today", limit: Double(limit),
                                      observed: Double(used), reply: true)
            case .failure(.cost(let limit, let used, let asked)):
                return try await trip(&turn, .maxCostPerDay,
                                      detail: String(format: "$%.4f of $%.2f used today; this call may cost up to $%.4f", used, limit, asked),
                                      limit: limit, observed: used + asked, reply: true)
            }

            await llmSlots.acquire()
            let result: Result<ChatResponse, LLMError>
            let callStarted = DispatchTime.now().uptimeNanoseconds
            do {
                result = .success(try await provider.complete(request))
            } catch {
                result = .failure(error)
            }
            let waited = DispatchTime.now().uptimeNanoseconds &- callStarted
            Pipeline.modelWait?.withLock { $0 &+= waited }
            if case .success = result { options.metrics.modelCall(nanoseconds: waited, ok: true) } else { options.metrics.modelCall(nanoseconds: waited, ok: false) }
            await llmSlots.release()

            let response: ChatResponse
            switch result {
            case .failure(let error):
                ledger.withLock { $0.release(reservation) }
                try turn.events.add(LLMFailed(agentId: turn.agent.agentId, sessionId: turn.session.id, provider: provider.kind.rawValue,
                                              model: modelID, error: error.description, httpStatus: error.httpStatus,
                                              attempts: error.attempts, latencyMs: 0, reservationId: reservation.id),
                                    stream: turn.session.stream, actor: turn.agentActor)
                return try await handOff(&turn, trigger: .llmFailed, reason: "the model call failed: \(error.message)")
            case .success(let ok):
                response = ok
            }

            // Settle: the reported cost replaces the reservation.
            ledger.withLock { $0.settle(reservation, usd: response.costUsd, messages: reservation.messages) }
            reservesMessage = false
            try turn.events.add(LLMCompleted(agentId: turn.agent.agentId, sessionId: turn.session.id, provider: provider.kind.rawValue,
                                             model: response.model, generationId: response.generationId,
                                             promptTokens: response.usage.promptTokens, completionTokens: response.usage.completionTokens,
                                             costUsd: response.costUsd, costSource: LLMCompleted.CostSource(rawValue: response.costSource.rawValue) ?? .priceTable,
                                             latencyMs: response.latencyMs, finishReason: response.finishReason, iteration: iteration,
                                             content: response.text, toolCallIds: response.toolCalls.map(\.id), reservationId: reservation.id),
                                stream: turn.session.stream, actor: turn.agentActor)
            try turn.events.add(CostCharged(agentId: turn.agent.agentId, sessionId: turn.session.id, day: day, usd: response.costUsd,
                                            tokens: response.usage.totalTokens, promptTokens: response.usage.promptTokens,
                                            completionTokens: response.usage.completionTokens, messages: reservation.messages,
                                            model: response.model, reservationId: reservation.id, reservedUsd: reservation.usd,
                                            generationId: response.generationId),
                                stream: EventStream.spend(agentId: turn.agent.agentId, day: day), actor: .system)

            if let handoff = response.handoff {
                // The offline provider found no answer: a person takes over; the customer is told.
                return try await handOff(&turn, trigger: .unanswered, reason: handoff.reason, notice: response.text)
            }
            if response.toolCalls.isEmpty {
                let text = (response.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                if text.isEmpty {
                    return try await handOff(&turn, trigger: .unanswered, reason: "the model returned an empty reply",
                                             notice: Notices.handoff(language: properties.language))
                }
                let delivered = try await deliver(&turn, text: text, actor: turn.agentActor)
                try await flush(&turn.events)
                storeSession(turn.session)
                return turn.outcome(turn.heldApprovals.isEmpty ? delivered.kind : .held, reply: text, replyId: delivered.replyId,
                                    approvalId: delivered.approvalId ?? turn.heldApprovals.first)
            }

            chat.messages.append(.assistant(response.text, toolCalls: response.toolCalls))
            var handedOff = false
            for call in response.toolCalls {
                let fed = try await runToolCall(&turn, call)
                chat.messages.append(.tool(callId: call.id, content: fed.result.serialized()))
                if fed.handsOff { handedOff = true }
            }
            try await flush(&turn.events)
            if handedOff {
                return turn.outcome(.handedOff, approvalId: turn.heldApprovals.first, reason: "the agent handed the session to a human")
            }
        }
        return try await trip(&turn, .maxToolIterations, detail: "the model made \(options.toolIterationsMax) calls without answering",
                              limit: Double(options.toolIterationsMax), reply: true)
    }

    /// Hands the session to a human and, when given, tells the customer so (through the reply path,
    /// so a supervised agent's notice is held like any other send).
    func handOff(_ turn: inout Turn, trigger: SessionHandedOff.Trigger, reason: String, notice: String? = nil) async throws(PipelineError) -> TurnOutcome {
        // The notice goes out before the handoff: after it, the agent sends nothing in the session.
        var delivered: Delivered?
        if let notice, !notice.isEmpty {
            delivered = try await deliver(&turn, text: notice, actor: turn.agentActor)
        }
        try turn.events.add(SessionHandedOff(sessionId: turn.session.id, trigger: trigger, reason: reason),
                            stream: turn.session.stream, actor: trigger == .llmFailed ? .system : turn.agentActor)
        turn.session.handedOff = true
        turn.session.handedOffTo = nil
        try await flush(&turn.events)
        storeSession(turn.session)
        var outcome = turn.outcome(.handedOff, reply: delivered == nil ? nil : notice, replyId: delivered?.replyId,
                                   approvalId: delivered?.approvalId ?? turn.heldApprovals.first, reason: reason)
        outcome.replySent = delivered?.kind == .sent
        return outcome
    }
}
