import EventLog
import Foundation
import LLM
import LLMTestServer
@testable import Pipeline
import PurserDomain
import Testing

@Suite("Pipeline: one message through the stages")
struct PipelineFlowTests {
    @Test func offlineFAQAnswerIsSentWithEveryStepAnEvent() async throws {
        let h = try await Harness(configs: [agentConfig()])
        let outcome = await h.pipeline.process(message("Was kostet der SBF Binnen?"))
        #expect(outcome.kind == .sent, "\(outcome)")
        #expect(outcome.reply == "Der SBF Binnen kostet 450 €.")
        let types = try await h.events(org: "haff").map { $0["type"]?.stringValue ?? "" }
        #expect(types == ["agent.configured", "message.received", "object.created", "contact.resolved", "session.opened",
                          "llm.completed", "cost.charged", "message.sent"])
        // Every event of the turn correlates to the inbound message.
        let turn = try await h.events(org: "haff").dropFirst()
        #expect(turn.allSatisfy { $0["correlationId"]?.stringValue == outcome.messageId })
        let sent = try #require(try await h.events(org: "haff", type: "message.sent").first)
        #expect(sent["data"]?["to"]?.stringValue == "+491701234567")
        #expect(sent["data"]?["from"]?.stringValue == "+4939771234567")
        #expect(sent["actor"]?["kind"]?.stringValue == "agent")
    }

    @Test func offlineProviderHandsOffWhenItCannotAnswer() async throws {
        let h = try await Harness(configs: [agentConfig()])
        let outcome = await h.pipeline.process(message("Können Sie mir bei meiner Steuererklärung helfen?"))
        #expect(outcome.kind == .handedOff, "\(outcome)")
        let handoff = try #require(try await h.events(org: "haff", type: "session.handed_off").first)
        #expect(handoff["data"]?["trigger"]?.stringValue == "unanswered")
        // The next message gets no agent reply: a human has the session.
        let next = await h.pipeline.process(message("Was kostet der SBF Binnen?"))
        #expect(next.kind == .handedOff)
        #expect(try await h.events(org: "haff", type: "llm.completed").count == 1)
    }

    @Test func duplicateMessageIsProcessedOnce() async throws {
        let h = try await Harness(configs: [agentConfig()])
        let first = await h.pipeline.process(message("Wo finde ich euch?", id: "wamid.same"))
        let second = await h.pipeline.process(message("Wo finde ich euch?", id: "wamid.same"))
        #expect(first.kind == .sent)
        #expect(second.kind == .duplicate)
        try await h.restart()
        let third = await h.pipeline.process(message("Wo finde ich euch?", id: "wamid.same"))
        #expect(third.kind == .duplicate)
        #expect(try await h.events(org: "haff", type: "message.received").count == 1)
        #expect(try await h.events(org: "haff", type: "message.sent").count == 1)
    }

    @Test func restartMidConversationAnswersTheStoredMessageAndKeepsTheSession() async throws {
        let h = try await Harness(configs: [agentConfig()])
        let first = await h.pipeline.process(message("Wo finde ich euch?", id: "wamid.r1"))
        #expect(first.kind == .sent)
        // The process dies right after storing the next message: only message.received is in the log.
        let pending = message("Was kostet der SBF Binnen?", id: "wamid.r2")
        let received = MessageReceived(channel: .whatsapp, from: pending.from, to: pending.orgAddresses[0], text: pending.text,
                                       externalMessageId: pending.externalMessageId, receivedAt: pending.receivedAt,
                                       agentId: "primary", sessionId: first.sessionId)
        let encoded = try EventCatalog.standard.encode(received)
        _ = try await h.append([EventDraft(org: "haff", stream: EventStream.session(first.sessionId ?? ""), type: encoded.type,
                                             version: encoded.version, data: Array(encoded.data), actor: Actor(.customer, pending.from),
                                             id: pending.eventId, correlationId: pending.eventId)])
        try await h.restart()
        let resumed = await h.pipeline.process(pending)
        #expect(resumed.kind == .sent, "\(resumed)")
        #expect(resumed.sessionId == first.sessionId)
        #expect(resumed.reply == "Der SBF Binnen kostet 450 €.")
        #expect(try await h.events(org: "haff", type: "message.received").count == 2)
        #expect(try await h.events(org: "haff", type: "session.opened").count == 1)
        // Fed once more, it is now a plain duplicate.
        #expect(await h.pipeline.process(pending).kind == .duplicate)
    }

    @Test func unroutedMessageIsKept() async throws {
        let h = try await Harness(configs: [agentConfig()])
        let outcome = await h.pipeline.process(message("Hallo?", to: "+4930111111"))
        #expect(outcome.kind == .unrouted)
        let kept = try await h.events(org: ReservedOrg.unrouted, type: "message.unrouted")
        #expect(kept.count == 1)
        #expect(kept.first?["data"]?["text"]?.stringValue == "Hallo?")
    }

    @Test(arguments: ["Was haltet ihr von competitor pricing?", "Wie ist das PRICING eurer Competitors?",
                      "Brauche LEGAL advice zu meinem Vertrag", "Competitors' prices, bitte!"])
    func blockedTopicStopsTheCallAndHandsOff(text: String) async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], server: server)
        let outcome = await h.pipeline.process(message(text))
        #expect(outcome.kind == .blocked, "\(outcome)")
        #expect(server.requestCount == 0)
        let tripped = try #require(try await h.events(org: "haff", type: "guardrail.tripped").first)
        #expect(tripped["data"]?["guardrail"]?.stringValue == "blocked_topic")
        #expect(try await h.events(org: "haff", type: "session.handed_off").count == 1)
        // The customer is told, in the agent's language, before the handoff.
        let types = try await h.events(org: "haff").map { $0["type"]?.stringValue ?? "" }
        let sentIndex = try #require(types.firstIndex(of: "message.sent"))
        let handoffIndex = try #require(types.firstIndex(of: "session.handed_off"))
        #expect(sentIndex < handoffIndex)
        #expect(outcome.reply?.contains("Mitarbeiter") == true)
    }

    @Test(arguments: ["paused", "draft"])
    func pausedOrDraftAgentMakesNoCall(status: String) async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig(status: status)], server: server)
        let outcome = await h.pipeline.process(message("Was kostet der SBF Binnen?"))
        #expect(outcome.kind == .blocked)
        #expect(server.requestCount == 0)
        #expect(try await h.events(org: "haff", type: "guardrail.tripped").first?["data"]?["guardrail"]?.stringValue == "agent_\(status)")
        #expect(try await h.events(org: "haff", type: "message.sent").isEmpty)
    }

    @Test func draftOnlyNeverSends() async throws {
        let h = try await Harness(configs: [agentConfig(autonomy: "draft_only")])
        let outcome = await h.pipeline.process(message("Was kostet der SBF Binnen?"))
        #expect(outcome.kind == .drafted)
        #expect(try await h.events(org: "haff", type: "message.sent").isEmpty)
        #expect(try await h.events(org: "haff", type: "message.drafted").count == 1)
    }

    @Test func supervisedHoldsTheReplyUntilApprovedThenSendsIt() async throws {
        let h = try await Harness(configs: [agentConfig(autonomy: "supervised")])
        let outcome = await h.pipeline.process(message("Was kostet der SBF Binnen?"))
        #expect(outcome.kind == .held)
        let approvalId = try #require(outcome.approvalId)
        #expect(try await h.events(org: "haff", type: "message.sent").isEmpty)
        #expect(h.pipeline.humans.pendingApprovals(org: "haff").map(\.approvalId) == [approvalId])
        #expect(h.pipeline.humans.pendingApprovals(org: "other").isEmpty)
        let approved = try await h.pipeline.humans.approve(org: "haff", approvalId: approvalId, by: "anna", editedText: "Der SBF Binnen kostet 450 € inkl. Prüfung.")
        #expect(approved.kind == .sent)
        let sent = try #require(try await h.events(org: "haff", type: "message.sent").first)
        #expect(sent["data"]?["approvalId"]?.stringValue == approvalId)
        #expect(sent["data"]?["text"]?.stringValue == "Der SBF Binnen kostet 450 € inkl. Prüfung.")
        let granted = try #require(try await h.events(org: "haff", type: "approval.granted").first)
        #expect(granted["actor"]?["id"]?.stringValue == "anna")
        #expect(granted["data"]?["diff"]?[0]?["path"]?.stringValue == "text")
        // Deciding again: already decided.
        await #expect(throws: PipelineError.self) {
            _ = try await h.pipeline.humans.approve(org: "haff", approvalId: approvalId, by: "ben")
        }
    }

    @Test func approvalOfAnotherOrgIsNotFound() async throws {
        let h = try await Harness(configs: [agentConfig(autonomy: "supervised"), agentConfig(org: "other", address: "+4930123456")])
        let outcome = await h.pipeline.process(message("Was kostet der SBF Binnen?"))
        let approvalId = try #require(outcome.approvalId)
        do {
            _ = try await h.pipeline.humans.approve(org: "other", approvalId: approvalId, by: "mallory")
            Issue.record("another org approved haff's approval")
        } catch {
            #expect(error.code == .notFound)
        }
        #expect(h.pipeline.humans.pendingApprovals(org: "haff").count == 1)
    }

    @Test func concurrentApprovalsExactlyOneWins() async throws {
        let h = try await Harness(configs: [agentConfig(autonomy: "supervised")])
        let outcome = await h.pipeline.process(message("Was kostet der SBF Binnen?"))
        let approvalId = try #require(outcome.approvalId)
        let pipeline = h.pipeline!
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask {
                    do {
                        _ = try await pipeline.humans.approve(org: "haff", approvalId: approvalId, by: "operator\(i)")
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
        #expect(try await h.events(org: "haff", type: "approval.granted").count == 1)
        #expect(try await h.events(org: "haff", type: "message.sent").count == 1)
    }

    @Test func pendingApprovalsSurviveARestartAndExpireClosed() async throws {
        var options = PipelineOptions()
        options.approvalExpirySeconds = -1
        let h = try await Harness(configs: [agentConfig(autonomy: "supervised")], options: options)
        let outcome = await h.pipeline.process(message("Was kostet der SBF Binnen?"))
        let approvalId = try #require(outcome.approvalId)
        try await h.restart()
        #expect(h.pipeline.humans.pendingApprovals(org: "haff").map(\.approvalId) == [approvalId])
        let expired = try await h.pipeline.humans.expireApprovals()
        #expect(expired == [approvalId])
        #expect(try await h.events(org: "haff", type: "approval.expired").count == 1)
        #expect(try await h.events(org: "haff", type: "message.sent").isEmpty)
        await #expect(throws: PipelineError.self) {
            _ = try await h.pipeline.humans.approve(org: "haff", approvalId: approvalId, by: "late")
        }
    }

    @Test func takeoverSilencesTheAgentAndReleaseResumesWithTheHumansReplies() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], server: server)
        server.enqueue(.text("Ahoi! Wie kann ich helfen?"))
        let first = await h.pipeline.process(message("Hallo"))
        let sessionId = try #require(first.sessionId)
        _ = try await h.pipeline.humans.takeover(org: "haff", sessionId: sessionId, by: "anna")
        let during = await h.pipeline.process(message("Ist da jemand?"))
        #expect(during.kind == .handedOff)
        #expect(server.requestCount == 1)
        let reply = try await h.pipeline.humans.humanReply(org: "haff", sessionId: sessionId, by: "anna", text: "Hier ist Anna vom Hafenbüro.")
        #expect(reply.kind == .sent)
        _ = try await h.pipeline.humans.release(org: "haff", sessionId: sessionId, by: "anna")
        server.enqueue(.text("Gern geschehen!"))
        let after = await h.pipeline.process(message("Danke Anna"))
        #expect(after.kind == .sent)
        let lastRequest = try #require(server.requests.last)
        let contents = lastRequest.messages.compactMap(\.content)
        #expect(contents.contains { $0.contains("Hier ist Anna vom Hafenbüro.") })
        #expect(contents.contains { $0.contains("Ist da jemand?") })
        // No agent message went out while the session was taken over.
        let sentByAgent = try await h.events(org: "haff", type: "message.sent").filter { $0["actor"]?["kind"]?.stringValue == "agent" }
        #expect(sentByAgent.count == 2)
        await #expect(throws: PipelineError.self) {
            _ = try await h.pipeline.humans.release(org: "haff", sessionId: sessionId, by: "anna")
        }
        await #expect(throws: PipelineError.self) {
            _ = try await h.pipeline.humans.takeover(org: "other", sessionId: sessionId, by: "mallory")
        }
    }
}

@Suite("Pipeline: bounded memory")
struct SessionEvictionTests {
    /// With room for 2 sessions in memory, 6 conversations interleaved keep their sessions,
    /// transcripts and takeover state: forgotten sessions come back from the read model.
    @Test func evictedSessionsComeBackIntact() async throws {
        var options = PipelineOptions()
        options.sessionsCachedMax = 2
        let server = try startedServer()
        server.setResponder { _ in .text("Ahoi!") }
        let h = try await Harness(configs: [agentConfig()], server: server, options: options)
        var sessions: [String: String] = [:]
        for round in 0..<3 {
            for i in 0..<6 {
                let from = "+4917055500\(i)"
                let outcome = await h.pipeline.process(message("Runde \(round) von \(i)", from: from))
                if round == 0 {
                    sessions[from] = outcome.sessionId
                    if i == 0 { _ = try await h.pipeline.humans.takeover(org: "haff", sessionId: outcome.sessionId ?? "", by: "anna") }
                } else {
                    #expect(outcome.sessionId == sessions[from], "\(from) got a new session after eviction")
                    #expect(outcome.kind == (i == 0 ? .handedOff : .sent), "\(from) round \(round): \(outcome)")
                }
            }
        }
        #expect(try await h.events(org: "haff", type: "session.opened").count == 6)
        // The model saw each contact's own earlier messages, not a fresh start.
        let last = try #require(server.requests.last?.messages.compactMap(\.content).joined(separator: "\n"))
        #expect(last.contains("Runde 0 von 5") && last.contains("Runde 1 von 5"))
        #expect(!last.contains("von 4"))
    }
}
