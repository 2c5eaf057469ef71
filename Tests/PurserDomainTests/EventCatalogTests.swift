import Foundation
import PurserCore
import Testing
@testable import PurserDomain

@Suite("Event catalog")
struct EventCatalogTests {
    let catalog = EventCatalog.standard

    @Test("the catalog holds exactly the core event types of eventlog/EVENTS.md, in order")
    func catalogMatchesDesign() {
        let design = [
            "agent.configured", "agent.status_changed", "object.created", "object.updated", "object.deleted",
            "link.created", "link.deleted", "message.received", "message.rejected", "message.unrouted",
            "contact.resolved", "session.opened", "session.handed_off", "session.released", "session.closed",
            "llm.completed", "llm.failed", "tool.requested", "tool.denied", "tool.executed", "tool.failed",
            "approval.requested", "approval.granted", "approval.rejected", "approval.expired",
            "message.drafted", "message.sent", "message.delivered", "cost.charged", "guardrail.tripped",
        ]
        #expect(EventCatalog.types == design)
    }

    @Test("the samples cover every type")
    func samplesCoverCatalog() throws {
        let sampled = try Fixtures.everyEvent().map(\.type)
        #expect(sampled == EventCatalog.types)
    }

    @Test("every version above 1 has an upcaster chain from v1")
    func upcasterChainsComplete() {
        for type in EventCatalog.types {
            let current = EventCatalog.currentVersion(of: type) ?? 0
            #expect(UpcasterRegistry.standard.hasChain(for: type, from: 1, to: current), "\(type) v\(current)")
        }
    }

    @Test("each payload survives encode → decode unchanged", arguments: try Fixtures.everyEvent())
    func roundTrip(event: DomainEvent) throws {
        let encoded = try catalog.encode(event)
        #expect(encoded.type == event.type)
        #expect(encoded.version == EventCatalog.currentVersion(of: event.type))
        let decoded = try catalog.decode(type: encoded.type, version: encoded.version, data: encoded.data)
        #expect(decoded == event)
        // Encoding is deterministic: equal payloads give equal bytes (the hash chain relies on it).
        #expect(try catalog.encode(decoded).data == encoded.data)
        // The bytes are plain JSON objects that the project's own parser reads.
        #expect(try JSONValue(parsing: encoded.data).objectValue != nil)
    }

    @Test("a v1 message.received is read as v2")
    func upcastMessageReceivedV1() throws {
        let v1 = #"""
        {"channel": "whatsapp", "sender": "0049 170 123-4567", "recipient": "+49 3977 1234567",
         "text": "Wann ist der nächste SBF-Kurs?", "externalMessageId": "wamid.HBgL",
         "receivedAt": "2026-11-25T10:00:00Z", "contactName": "Max Mustermann",
         "mediaUrls": ["https://cdn.example/m/photo.JPG", "https://cdn.example/anmeldung.pdf?sig=1", "https://cdn.example/blob"]}
        """#
        let event = try catalog.decode(type: "message.received", version: 1, data: Data(v1.utf8))
        guard case .messageReceived(let message) = event else {
            Issue.record("expected .messageReceived, got \(event)")
            return
        }
        #expect(message.from == "+491701234567")
        #expect(message.to == "+4939771234567")
        #expect(message.text == "Wann ist der nächste SBF-Kurs?")
        #expect(message.externalMessageId == "wamid.HBgL")
        #expect(message.receivedAt == Timestamp(iso8601: "2026-11-25T10:00:00Z"))
        #expect(message.contactName == "Max Mustermann")
        #expect(message.attachments == [
            MessageAttachment(kind: .image, url: "https://cdn.example/m/photo.JPG"),
            MessageAttachment(kind: .document, url: "https://cdn.example/anmeldung.pdf?sig=1"),
            MessageAttachment(kind: .other, url: "https://cdn.example/blob"),
        ])
        #expect(message.references == [])
        #expect(message.agentId == nil)
        // The typed entry point upcasts too, and re-encoding writes v2.
        let typed = try catalog.decode(MessageReceived.self, version: 1, data: Data(v1.utf8))
        #expect(typed == message)
        let encoded = try catalog.encode(event)
        #expect(encoded.version == 2)
        #expect(try JSONValue(parsing: encoded.data)["sender"] == nil)
    }

    @Test("a v1 message.received with an address that cannot be normalized stays readable")
    func upcastKeepsUnnormalizableAddress() throws {
        let v1 = #"{"channel": "sms", "sender": " shortcode 12 ", "recipient": "+4939771234567", "text": "x", "receivedAt": "2026-11-25T10:00:00Z"}"#
        let message = try catalog.decode(MessageReceived.self, version: 1, data: Data(v1.utf8))
        #expect(message.from == "shortcode 12")
        #expect(message.attachments.isEmpty)
    }

    @Test("upcasters run step by step, in order")
    func upcasterChain() throws {
        let registry = UpcasterRegistry([
            Upcaster(type: "demo.thing", fromVersion: 2) { (value: JSONValue) throws(DomainError) -> JSONValue in
                var value = value
                value.set(["steps"], .array((value["steps"]?.arrayValue ?? []) + ["2→3"]))
                return value
            },
            Upcaster(type: "demo.thing", fromVersion: 1) { (value: JSONValue) throws(DomainError) -> JSONValue in
                var value = value
                value.set(["steps"], ["1→2"])
                value.set(["name"], value["title"])
                value.set(["title"], nil)
                return value
            },
        ])
        let v3 = try registry.upcast(["title": "x"], type: "demo.thing", from: 1, to: 3)
        #expect(v3 == ["name": "x", "steps": ["1→2", "2→3"]])
        #expect(try registry.upcast(["steps": []], type: "demo.thing", from: 2, to: 3) == ["steps": ["2→3"]])
        #expect(registry.hasChain(for: "demo.thing", from: 1, to: 3))
        #expect(!registry.hasChain(for: "demo.thing", from: 1, to: 4))
        let error = #expect(throws: DomainError.self) { try registry.upcast([:], type: "demo.thing", from: 1, to: 4) }
        #expect(error?.code == .upcastFailed)
        #expect(error?.message.contains("v3") == true)
    }

    @Test("a failing upcaster reports the step")
    func failingUpcaster() throws {
        let error = #expect(throws: DomainError.self) {
            try catalog.decode(type: "message.received", version: 1, data: Data("[1, 2]".utf8))
        }
        #expect(error?.code == .upcastFailed)
        #expect(error?.message.contains("v1 to v2") == true)
    }

    @Test("an unknown type decodes to .unknown and encodes back byte for byte")
    func unknownType() throws {
        let data = Data(#"{"b": 1, "a": [true]}"#.utf8)
        let event = try catalog.decode(type: "webinar.registered", version: 4, data: data)
        #expect(event == .unknown(type: "webinar.registered", version: 4, data: data))
        #expect(event.payload == nil)
        #expect(event.type == "webinar.registered")
        #expect(event.version == 4)
        #expect(try catalog.encode(event) == EncodedPayload(type: "webinar.registered", version: 4, data: data))
    }

    @Test("a version newer than this build is refused with advice", arguments: [3, 99])
    func newerVersion(version: Int) {
        let error = #expect(throws: DomainError.self) {
            try catalog.decode(type: "message.received", version: version, data: Data("{}".utf8))
        }
        #expect(error?.code == .unsupportedEventVersion)
        #expect(error?.message.contains("upgrade") == true)
    }

    @Test("version 0 is refused")
    func versionZero() {
        let error = #expect(throws: DomainError.self) {
            try catalog.decode(type: "session.closed", version: 0, data: Data(#"{"sessionId": "s", "reason": "r"}"#.utf8))
        }
        #expect(error?.code == .unsupportedEventVersion)
    }

    @Test("a payload that does not match its schema names the field")
    func invalidPayload() {
        let error = #expect(throws: DomainError.self) {
            try catalog.decode(type: "session.opened", version: 1, data: Data(#"{"sessionId": "s", "agentId": "a", "channel": "whatsapp"}"#.utf8))
        }
        #expect(error?.code == .invalidPayload)
        #expect(error?.message.contains("externalContactId") == true)
        let badEnum = #expect(throws: DomainError.self) {
            try catalog.decode(type: "agent.status_changed", version: 1, data: Data(#"{"agentId": "a", "from": "active", "to": "asleep"}"#.utf8))
        }
        #expect(badEnum?.code == .invalidPayload)
    }

    @Test("the envelope example of eventlog/EVENTS.md decodes as a v1 message")
    func envelopeExampleData() throws {
        let data = Data(#"{"channel": "whatsapp", "text": "Wann ist der nächste SBF-Kurs?", "sender": "+491701234567", "recipient": "+4939771234567", "receivedAt": "2026-11-25T10:00:00.123Z"}"#.utf8)
        let message = try catalog.decode(MessageReceived.self, version: 1, data: data)
        #expect(message.channel == .whatsapp)
        #expect(message.receivedAt.iso8601 == "2026-11-25T10:00:00.123Z")
    }

    @Test("message.rejected keeps raw bytes, as text when they are UTF-8")
    func rejectedRaw() {
        let binary = MessageRejected(code: "invalid_json", reason: "r", raw: Data([0xFF, 0x00, 0x41]))
        #expect(binary.rawUTF8 == nil)
        #expect(binary.raw == Data([0xFF, 0x00, 0x41]))
        let text = MessageRejected(code: "invalid_json", reason: "r", raw: Data("{oops".utf8))
        #expect(text.rawUTF8 == "{oops")
        #expect(text.rawBase64 == nil)
        #expect(text.raw == Data("{oops".utf8))
    }

    @Test("actors encode as {kind, id}")
    func actorShape() throws {
        let data = try EventCoding.encoder.encode(EventActor.customer("+491701234567"))
        #expect(String(decoding: data, as: UTF8.self) == #"{"id":"+491701234567","kind":"customer"}"#)
        for kind in EventActor.Kind.allCases {
            let actor = EventActor(kind: kind, id: "x")
            #expect(try JSONDecoder().decode(EventActor.self, from: JSONEncoder().encode(actor)) == actor)
        }
    }

    @Test("stream names follow the documented convention")
    func streams() {
        #expect(EventStream.session("ses_1") == "session:ses_1")
        #expect(EventStream.agent("primary") == "agent:primary")
        #expect(EventStream.spend(agentId: "primary", day: "2026-11-25") == "spend:primary:2026-11-25")
    }
}
