import Channels
import EventLog
import Foundation
import LLM
import LLMTestServer
@testable import Pipeline
import PurserCore
import PurserDomain
import Testing

/// The sailing school's data: a course (a bookable resource), Max with a booking.
func sailingObjects(org: String = "haff", contactName: String = "Max Mustermann") -> [(org: String, object: OntologyObject)] {
    [
        (org, OntologyObject(id: "course_sbf", type: "product", subtype: "course", name: "SBF Binnen", status: "active",
                             customProperties: ["price": 450.0], createdAt: Timestamp(iso8601: "2026-01-10T09:00:00Z"))),
        (org, OntologyObject(id: "c_17", type: "crm_contact", subtype: "customer", name: .some(contactName), status: "active",
                             customProperties: ["phone": "+491701234567", "country": "DE"], createdAt: Timestamp(iso8601: "2025-03-01T09:00:00Z"))),
        (org, OntologyObject(id: "b_90", type: "booking", name: "SBF Binnen Herbst", status: "confirmed",
                             customProperties: ["resourceId": "course_sbf", "startsAt": "2026-10-01T09:00:00Z", "endsAt": "2026-10-01T17:00:00Z", "price": 450.0],
                             createdAt: Timestamp(iso8601: "2026-09-01T09:00:00Z"))),
    ]
}

let sailingLinks: [(org: String, link: ObjectLink)] = [("haff", ObjectLink(from: "c_17", to: "b_90", linkType: "bookings"))]

@Suite("Pipeline: the tool loop against a real OpenAI-compatible server")
struct ToolLoopTests {
    @Test func dataQuestionIsAnsweredThroughTheDataQueryTool() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], objects: sailingObjects(), links: sailingLinks, server: server)
        server.enqueue(.toolCall(id: "call_q", name: "data_query_tool", arguments: #"{"objectType":"booking","aggregate":{"type":"count"}}"#),
                       .text("Sie haben eine Buchung."))
        let outcome = await h.pipeline.process(message("Wie viele Buchungen habe ich?"))
        #expect(outcome.kind == .sent, "\(outcome)")
        #expect(outcome.reply == "Sie haben eine Buchung.")
        let executed = try #require(try await h.events(org: "haff", type: "tool.executed").first)
        #expect(executed["data"]?["result"]?["aggregate"]?["value"]?.doubleValue == 1 || executed["data"]?["result"]?["total"]?.doubleValue == 1,
                "\(executed.serialized())")
        // The result went back to the model as the tool message of the same call.
        let second = try #require(server.requests.last?.json)
        let toolMessage = second["messages"]?.arrayValue?.last { $0["role"]?.stringValue == "tool" }
        #expect(toolMessage?["tool_call_id"]?.stringValue == "call_q")
        // The contact was found by phone, and the model saw their record and booking.
        #expect(try await h.events(org: "haff", type: "contact.resolved").first?["data"]?["crmContactId"]?.stringValue == "c_17")
        let system = server.requests.first?.messages.first?.content ?? ""
        #expect(system.contains("Max Mustermann") && system.contains("b_90"))
        #expect(system.contains("Der SBF Binnen kostet 450 €."))
    }

    @Test func bookingIsHeldUnderSupervisedAndRunsWhenApproved() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig(autonomy: "supervised")], objects: sailingObjects(), links: sailingLinks, server: server)
        let arguments = #"{"action":"create","resourceId":"course_sbf","from":"2026-11-28T09:00:00Z","to":"2026-11-28T17:00:00Z","price":450,"currency":"EUR"}"#
        server.enqueue(.toolCall(id: "call_b", name: "booking_tool", arguments: arguments),
                       .text("Ich habe die Buchung angefragt; das Team bestätigt sie gleich."))
        let outcome = await h.pipeline.process(message("Bitte buch mich für den SBF-Kurs am 28.11. ein."))
        #expect(outcome.kind == .held, "\(outcome)")
        let requested = try await h.events(org: "haff", type: "approval.requested")
        let toolApproval = try #require(requested.first { $0["data"]?["kind"]?.stringValue == "tool_call" })
        #expect(toolApproval["data"]?["tool"]?.stringValue == "booking_tool")
        #expect(toolApproval["data"]?["category"]?.stringValue == "financial")
        #expect(try await h.events(org: "haff", type: "tool.executed").isEmpty)
        #expect(try await h.events(org: "haff", type: "object.created").filter { $0["data"]?["object"]?["type"]?.stringValue == "booking" }.count == 1)

        let approvalId = try #require(toolApproval["data"]?["approvalId"]?.stringValue)
        server.enqueue(.text("Ihre Buchung ist bestätigt. Mast- und Schotbruch!"))
        let approved = try await h.pipeline.humans.approve(org: "haff", approvalId: approvalId, by: "owner")
        #expect(approved.kind == .held, "\(approved)")  // the agent's reply is held again: supervised
        let failures = try await h.events(org: "haff", type: "tool.failed").map { $0.serialized() }
        #expect(failures.isEmpty, "\(failures)")
        let executed = try #require(try await h.events(org: "haff", type: "tool.executed").first)
        #expect(executed["data"]?["approvalId"]?.stringValue == approvalId)
        let bookings = try await h.events(org: "haff", type: "object.created").filter { $0["data"]?["object"]?["type"]?.stringValue == "booking" }
        #expect(bookings.count == 2)
        // The resumed call saw the tool's result.
        let resumed = try #require(server.requests.last?.json)
        #expect(resumed["messages"]?.arrayValue?.last?["role"]?.stringValue == "tool")
    }

    @Test func rejectedToolCallIsFedBackToTheAgent() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig(autonomy: "supervised")], objects: sailingObjects(), server: server)
        server.enqueue(.toolCall(id: "call_d", name: "crm_tool", arguments: #"{"action":"delete","contactId":"c_17"}"#), .text("Ich frage nach."))
        let outcome = await h.pipeline.process(message("Löscht meine Daten"))
        let approvalId = try #require(try await h.events(org: "haff", type: "approval.requested").first { $0["data"]?["kind"]?.stringValue == "tool_call" }?["data"]?["approvalId"]?.stringValue)
        #expect(outcome.kind == .held)
        server.enqueue(.text("Das Team hat die Löschung abgelehnt."))
        _ = try await h.pipeline.humans.reject(org: "haff", approvalId: approvalId, by: "owner", reason: "needs identity check")
        let last = try #require(server.requests.last?.json)
        let fed = last["messages"]?.arrayValue?.last?["content"]?.stringValue ?? ""
        #expect(fed.contains("needs identity check"))
        #expect(try await h.events(org: "haff", type: "object.deleted").isEmpty)
    }

    @Test func disabledToolIsDeniedAndTheReasonFedBack() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], server: server)
        server.enqueue(.toolCall(id: "call_x", name: "bulk_crm_email_tool",
                                 arguments: #"{"segment":{"objectType":"crm_contact"},"subject":"Sale","body":"Hi"}"#),
                       .text("Das darf ich nicht."))
        let outcome = await h.pipeline.process(message("Schreib allen Kunden eine Mail"))
        #expect(outcome.kind == .sent)
        let denied = try #require(try await h.events(org: "haff", type: "tool.denied").first)
        #expect(denied["data"]?["rule"]?.stringValue == "disabled_tools")
        #expect(try await h.events(org: "haff", type: "message.sent").count == 1)  // only the reply, no bulk mail
        let fed = server.requests.last?.json?["messages"]?.arrayValue?.last?["content"]?.stringValue ?? ""
        #expect(fed.contains("denied"))
        // The disabled tool was not even offered.
        #expect(!(server.requests.first?.toolNames.contains("bulk_crm_email_tool") ?? true))
    }

    @Test func invalidToolArgumentsFeedAnErrorBackWithoutCrashing() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], server: server)
        server.enqueue(.toolCall(id: "call_1", name: "data_query_tool", arguments: #"{"objectType": "booking", "filters": [{"field": "x;DROP TABLE objects", "op": "eq"#),
                       .toolCall(id: "call_2", name: "data_query_tool", arguments: #"{"objectType": 5, "limit": -1}"#),
                       .toolCall(id: "call_3", name: "no_such_tool", arguments: #"{}"#),
                       .text("Entschuldigung, das konnte ich nicht abfragen."))
        let outcome = await h.pipeline.process(message("Zeig mir alles"))
        #expect(outcome.kind == .sent, "\(outcome)")
        let failed = try await h.events(org: "haff", type: "tool.failed")
        #expect(failed.map { $0["data"]?["code"]?.stringValue } == ["invalid_json", "invalid_arguments"])
        let denied = try await h.events(org: "haff", type: "tool.denied")
        #expect(denied.first?["data"]?["rule"]?.stringValue == "unknown_tool")
        #expect(try await h.events(org: "haff", type: "tool.executed").isEmpty)
    }

    @Test func rateLimitThenSuccess() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], server: server)
        server.enqueue(.rateLimited(retryAfter: "0"), .text("Moin!"))
        let outcome = await h.pipeline.process(message("Hallo"))
        #expect(outcome.kind == .sent)
        #expect(server.requestCount == 2)
        #expect(try await h.events(org: "haff", type: "llm.completed").count == 1)
    }

    @Test func modelThatKeepsFailingHandsOffAndLosesNothing() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], server: server)
        server.setResponder { _ in .serverError(status: 503) }
        let outcome = await h.pipeline.process(message("Hallo?"))
        #expect(outcome.kind == .handedOff)
        #expect(try await h.events(org: "haff", type: "message.received").count == 1)
        let failed = try #require(try await h.events(org: "haff", type: "llm.failed").first)
        #expect(failed["data"]?["httpStatus"]?.doubleValue == 503)
        #expect(try await h.events(org: "haff", type: "session.handed_off").first?["data"]?["trigger"]?.stringValue == "llm_failed")
        #expect(try await h.events(org: "haff", type: "cost.charged").isEmpty)
    }

    @Test func toolLoopIsBounded() async throws {
        let server = try startedServer()
        var options = PipelineOptions()
        options.toolIterationsMax = 3
        let h = try await Harness(configs: [agentConfig()], server: server, options: options)
        server.setResponder { _ in .toolCall(name: "data_query_tool", arguments: #"{"objectType":"booking"}"#) }
        let outcome = await h.pipeline.process(message("Loop forever"))
        #expect(outcome.kind == .blocked)
        #expect(server.requestCount == 3)
        #expect(try await h.events(org: "haff", type: "guardrail.tripped").first?["data"]?["guardrail"]?.stringValue == "max_tool_iterations")
    }
}

@Suite("Pipeline: caps and tenants under concurrency")
struct ConcurrencyTests {
    /// 50 sessions of one agent at once against a cap of 20 messages: exactly 20 model calls.
    @Test func messageCapHoldsUnder50ConcurrentSessions() async throws {
        let server = try startedServer(delay: .milliseconds(20))
        server.setResponder { _ in .text("Ahoi!", usage: .init(promptTokens: 100, completionTokens: 5, cost: 0.0001)) }
        let h = try await Harness(configs: [agentConfig(maxMessages: 20)], server: server)
        let outcomes = await Self.burst(h.pipeline, count: 50)
        #expect(outcomes.filter { $0.kind == .sent }.count == 20)
        #expect(outcomes.filter { $0.kind == .blocked }.count == 30)
        #expect(server.requestCount == 20)
        let messages = try await h.events(org: "haff", type: "cost.charged").compactMap { $0["data"]?["messages"]?.doubleValue }.reduce(0, +)
        #expect(messages == 20)
        #expect(try await h.events(org: "haff", type: "guardrail.tripped").allSatisfy { $0["data"]?["guardrail"]?.stringValue == "max_messages_per_day" })
    }

    /// With a cap of 10 and 40 customers at once, 10 answers go out and nothing else: the 30
    /// "a colleague will get back to you" notices are drafted for the human who takes over, not
    /// sent (they were 40 `message.sent` against a cap of 10).
    @Test func aTrippedCapSendsNothingMoreNoticesIncluded() async throws {
        let server = try startedServer(delay: .milliseconds(20))
        server.setResponder { _ in .text("Ahoi!", usage: .init(promptTokens: 100, completionTokens: 5, cost: 0.0001)) }
        let h = try await Harness(configs: [agentConfig(maxMessages: 10)], server: server)
        let outcomes = await Self.burst(h.pipeline, count: 40)
        #expect(outcomes.filter { $0.kind == .sent }.count == 10)
        #expect(outcomes.filter { $0.kind == .blocked }.count == 30)
        #expect(outcomes.filter { $0.replySent }.count == 10)
        #expect(try await h.events(org: "haff", type: "message.sent").count == 10)
        let notices = try await h.events(org: "haff", type: "message.drafted")
        #expect(notices.count == 30)
        #expect(notices.allSatisfy { $0["actor"]?["kind"]?.stringValue == "system" && $0["data"]?["approvalId"] == nil })
        // A later customer the same day: still nothing sent.
        let later = await h.pipeline.process(message("Moin?", from: "+491709999999"))
        #expect(later.kind == .blocked && !later.replySent)
        #expect(try await h.events(org: "haff", type: "message.sent").count == 10)
    }

    /// A cost cap several times one call's worst case: whatever the interleaving, what is charged
    /// never passes it, and calls are refused once the reservations would.
    @Test func costCapHoldsUnder50ConcurrentSessions() async throws {
        let server = try startedServer(delay: .milliseconds(10))
        // Each call reports costing close to its worst case, the hardest case for the cap.
        server.setResponder { _ in .text("Ahoi!", usage: .init(promptTokens: 400, completionTokens: 1024, cost: 0.08)) }
        let cap = 0.5
        let h = try await Harness(configs: [agentConfig(maxCost: cap, maxTokens: 1024)], server: server)
        let outcomes = await Self.burst(h.pipeline, count: 50)
        let charged = try await h.events(org: "haff", type: "cost.charged").compactMap { $0["data"]?["usd"]?.doubleValue }.reduce(0, +)
        #expect(charged <= cap + 1e-9, "charged \(charged) over the cap \(cap)")
        #expect(outcomes.filter { $0.kind == .sent }.count >= 1)
        #expect(outcomes.contains { $0.kind == .blocked })
        #expect(try await h.events(org: "haff", type: "guardrail.tripped").allSatisfy { $0["data"]?["guardrail"]?.stringValue == "max_cost_per_day" })
    }

    @Test func twoOrgsAtOnceShareNothing() async throws {
        let server = try startedServer(delay: .milliseconds(5))
        server.setResponder { request in
            // Echo which org's data the model was given, so a leak would show in the reply too.
            let system = request.messages.first?.content ?? ""
            return .text(system.contains("SECRET-HAFF") ? "haff-answer" : system.contains("SECRET-KITE") ? "kite-answer" : "none")
        }
        let haff = agentConfig(org: "haff", faq: [("Code?", "SECRET-HAFF")])
        let kite = agentConfig(org: "kite", address: "+4930999999", faq: [("Code?", "SECRET-KITE")])
        // Same contact id and phone in both orgs, different names.
        let objects = sailingObjects(org: "haff", contactName: "Max HAFF") + sailingObjects(org: "kite", contactName: "Max KITE")
        let h = try await Harness(configs: [haff, kite], objects: objects, server: server)
        let pipeline = h.pipeline!
        let outcomes = await withTaskGroup(of: TurnOutcome.self) { group in
            for i in 0..<40 {
                let to = i % 2 == 0 ? "+4939771234567" : "+4930999999"
                let admission = await pipeline.admit(message("Frage \(i)", from: "+4917012345\(String(format: "%02d", i % 10))", to: to))
                group.addTask { await pipeline.run(admission) }
            }
            return await group.reduce(into: [TurnOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.count == 40)
        for outcome in outcomes {
            #expect(outcome.kind == .sent)
            #expect(outcome.reply == (outcome.org == "haff" ? "haff-answer" : "kite-answer"))
        }
        for request in server.requests {
            let text = request.messages.compactMap(\.content).joined(separator: "\n")
            #expect(!(text.contains("HAFF") && text.contains("KITE")), "a request mixed two orgs' data")
        }
        for org in ["haff", "kite"] {
            let sessions = Set(try await h.events(org: org, type: "session.opened").compactMap { $0["data"]?["sessionId"]?.stringValue })
            let other = org == "haff" ? "kite" : "haff"
            let otherSessions = Set(try await h.events(org: other, type: "session.opened").compactMap { $0["data"]?["sessionId"]?.stringValue })
            #expect(sessions.isDisjoint(with: otherSessions))
            for event in try await h.events(org: org) {
                if let session = event["data"]?["sessionId"]?.stringValue { #expect(sessions.contains(session)) }
            }
        }
    }

    /// An org with its own model credentials is served by its own provider, and only it is.
    @Test func orgProviderServesOnlyItsOrg() async throws {
        let kiteServer = try startedServer()
        kiteServer.setResponder { _ in .text("kite's own model") }
        let haff = agentConfig(org: "haff")
        let kite = agentConfig(org: "kite", address: "+4930999999")
        let h = try await Harness(configs: [haff, kite], orgServers: ["kite": kiteServer])
        let a = await h.pipeline.process(message("Was kostet der SBF Binnen?"))
        let b = await h.pipeline.process(message("Was kostet der SBF Binnen?", to: "+4930999999"))
        #expect(a.reply == "Der SBF Binnen kostet 450 €.")  // offline, the engine's provider
        #expect(b.reply == "kite's own model")
        #expect(kiteServer.requestCount == 1)
        #expect(kiteServer.requests.first?.headers["authorization"] == "Bearer sk-org")
    }

    static func burst(_ pipeline: Pipeline, count: Int) async -> [TurnOutcome] {
        await withTaskGroup(of: TurnOutcome.self) { group in
            for i in 0..<count {
                let admission = await pipeline.admit(message("Hallo \(i)", from: "+49170555\(String(format: "%04d", i))"))
                group.addTask { await pipeline.run(admission) }
            }
            return await group.reduce(into: [TurnOutcome]()) { $0.append($1) }
        }
    }
}

@Suite("Pipeline: every real sample through ingest")
struct SampleIngestTests {
    static let root: URL = {
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        // Tests/PipelineTests/ToolLoopTests.swift → Tests/Fixtures/samples
        return here.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/samples", isDirectory: true)
    }()

    static let files: [String] = {
        var found: [String] = []
        for folder in ["whatsapp", "twilio", "email"] {
            guard let walker = FileManager.default.enumerator(at: root.appendingPathComponent(folder), includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where !url.lastPathComponent.contains("LICENSE") && !url.hasDirectoryPath {
                found.append(url.path)
            }
        }
        return found.sorted() + [root.appendingPathComponent("dialogues/inbound_user_utterances.jsonl").path]
    }()

    @Test func samplesAreFound() {
        #expect(Self.files.count >= 20)
    }

    @Test(arguments: files)
    func everySampleBecomesAnOutcome(path: String) async throws {
        var config = agentConfig(address: "+972123456789")
        config.customProperties.channelBindings.append(ChannelBinding(channel: .whatsapp, enabled: true, address: "+15550783881"))
        let h = try await Harness(configs: [config])
        let reader = InboundReader(fileHandle: try FileHandle(forReadingFrom: URL(fileURLWithPath: path)), sourceName: path)
        let summary = await Ingestor(pipeline: h.pipeline).run(reader) { _ in }
        #expect(summary.total > 0)
        #expect(summary.count(.failed) == 0)
        // Nothing fed in is lost: every outcome left an event (a message, an unrouted or a rejection).
        let received = try await h.events().filter { ["message.received", "message.unrouted", "message.rejected"].contains($0["type"]?.stringValue ?? "") }
        #expect(received.count == summary.total - summary.count(.duplicate))
        if path.hasSuffix("pywa_message.json") || path.hasSuffix("cloud_api_text_message.json") {
            #expect(try await !h.events(org: "haff", type: "message.received").isEmpty)
        }
    }
}

/// In a customer's conversation the agent sees that customer's records and the catalog, never
/// other customers' (`RowScope`); staff asking their own agent see the whole org.
@Suite("Pipeline: what a customer's conversation may read")
struct CustomerScopeTests {
    static func objects() -> [(org: String, object: OntologyObject)] {
        sailingObjects() + [
            ("haff", OntologyObject(id: "c_18", type: "crm_contact", subtype: "customer", name: "Lisa Kowalski", status: "active",
                                    customProperties: ["email": "lisa@example.org", "phone": "+491609876543"])),
            ("haff", OntologyObject(id: "b_91", type: "booking", name: "Lisa's booking", status: "confirmed",
                                    customProperties: ["resourceId": "course_sbf", "price": 450.0, "startsAt": "2026-12-01T09:00:00Z"])),
        ]
    }

    static let links = sailingLinks + [("haff", ObjectLink(from: "c_18", to: "b_91", linkType: "bookings"))]

    @Test(arguments: [
        (#"{"objectType":"crm_contact"}"#, ["c_17"]),
        (#"{"objectType":"booking"}"#, ["b_90"]),
        (#"{"objectType":"booking","includeRelated":["resource"]}"#, ["b_90"]),
        (#"{"objectType":"product"}"#, ["course_sbf"]),
        (#"{"objectType":"crm_contact","filters":[{"field":"name","op":"contains","value":"Lisa"}]}"#, []),
    ])
    func customerSeesOwnRecordsAndTheCatalogOnly(query: String, expected: [String]) async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], objects: Self.objects(), links: Self.links, server: server)
        server.enqueue(.toolCall(id: "call_s", name: "data_query_tool", arguments: query), .text("ok"))
        _ = await h.pipeline.process(message("Zeig mir alles"))
        let executed = try #require(try await h.events(org: "haff", type: "tool.executed").first)
        let ids = executed["data"]?["result"]?["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        #expect(ids == expected, "\(executed.serialized())")
        let resultText = executed["data"]?["result"]?.serialized() ?? ""
        #expect(resultText.contains("Lisa") == false)
    }

    @Test func customerCountsAndSumsOnlyTheirOwn() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], objects: Self.objects(), links: Self.links, server: server)
        server.enqueue(.toolCall(id: "call_s", name: "data_query_tool", arguments: #"{"objectType":"booking","aggregate":{"type":"sum","field":"customProperties.price"}}"#),
                       .toolCall(id: "call_f", name: "crm_tool", arguments: #"{"action":"find","query":"Lisa"}"#), .text("ok"))
        _ = await h.pipeline.process(message("Wie viel Umsatz habt ihr?"))
        let executed = try await h.events(org: "haff", type: "tool.executed")
        #expect(executed.first?["data"]?["result"]?["aggregate"]?["value"]?.doubleValue == 450)
        #expect(executed.last?["data"]?["result"]?["count"]?.doubleValue == 0)
    }

    @Test func staffAskingTheirAgentSeeTheWholeOrg() async throws {
        let server = try startedServer()
        let h = try await Harness(configs: [agentConfig()], objects: Self.objects(), links: Self.links, server: server)
        server.enqueue(.toolCall(id: "call_s", name: "data_query_tool", arguments: #"{"objectType":"crm_contact"}"#), .text("ok"))
        let outcome = await h.pipeline.admin.internalChat(org: "haff", agentId: "primary", by: "owner", text: "Alle Kontakte?")
        #expect(outcome.kind == .drafted)
        let ids = try await h.events(org: "haff", type: "tool.executed").first?["data"]?["result"]?["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
        #expect(ids == ["c_17", "c_18"])
    }
}
