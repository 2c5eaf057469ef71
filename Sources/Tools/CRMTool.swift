import Foundation
import GRDB
import PurserDomain

extension ToolDefinition {
    /// `crm_tool`: the org's contacts.
    public static let crm = ToolDefinition(
        name: "crm_tool", description: """
            Find, create, update or delete a contact in the organization's CRM. find: query (part of a name, or an email \
            or phone), returns matching contacts with their ids. create: name and/or email/phone (a contact whose email \
            or phone already exists is refused with that contact's id). update/delete: contactId.
            """,
        parameters: CRMExecutor.parameters, baseCategory: .write, categoryOf: CRMExecutor.category,
        executor: { CRMExecutor(reader: $0.crm) })
}

/// `crm_tool`: find, create, update and delete the org's contacts (`crm_contact` objects).
///
/// Reads go to the `crm` read model, scoped to the context's org; changes come back as
/// `object.created` / `object.updated` / `object.deleted` effects on the object's stream, which
/// the pipeline appends with the call's `tool.executed` (the read model sees them when its
/// projector catches up).
///
/// Phone numbers and email addresses are stored normalized (E.164, lowercased), the forms the
/// projector's identity lookup and contact resolution use, so a contact created here is the one
/// found when the same person writes in. A create or update that would give a second contact of
/// the org an address another live contact already has is refused naming that contact: two
/// records for one person split their history, and the model can update the existing one.
public struct CRMExecutor: ToolExecutor {
    public static let contactType = "crm_contact"
    /// Contacts returned by one `find`, so a vague name does not flood the model's context.
    public static let findMaxContacts = 20
    /// The `customProperties` members that hold a phone number, as the projector indexes them.
    static let phoneKeys = ["phone", "mobile", "whatsapp"]

    public let reader: any DatabaseReader

    public init(reader: any DatabaseReader) {
        self.reader = reader
    }

    static let parameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["action"],
        "properties": [
            "action": ["type": "string", "enum": ["find", "create", "update", "delete"]],
            "contactId": ["type": "string", "minLength": 1, "description": "required for update and delete"],
            "query": ["type": "string", "maxLength": 200, "description": "for find: part of a name, or a whole email address or phone number"],
            "name": ["type": "string", "maxLength": 200],
            "email": ["type": "string", "maxLength": 320, "description": "for find, create or update"],
            "phone": ["type": "string", "maxLength": 40, "description": "with country code, e.g. +491701234567"],
            "status": ["type": "string", "maxLength": 64, "description": "e.g. lead, customer"],
            "customProperties": ["type": "object", "description": "fields to set on create or update; a field set to null is removed"],
            "reason": ["type": "string", "maxLength": 1000, "description": "for delete: why, for the activity log"],
        ],
    ]

    /// `crm_tool`: finding is a read, creating and updating are writes, deleting is
    /// `delete_contact`. An unrecognized action counts as the riskiest, so a malformed call is
    /// never classified below what it might do.
    @Sendable static func category(_ arguments: JSONValue) -> ActionCategory {
        switch arguments["action"]?.stringValue {
        case "find": .read
        case "create", "update": .write
        default: .deleteContact
        }
    }

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        switch arguments["action"]?.stringValue {
        case "find": return try await find(arguments, context)
        case "create": return try await create(arguments, context)
        case "update": return try await update(arguments, context)
        case "delete": return try await delete(arguments, context)
        default:
            throw ToolError(.invalidArguments, "action must be one of find, create, update, delete", field: "action")
        }
    }

    // MARK: find

    func find(_ arguments: JSONValue, _ context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let query = arguments["query"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let email = arguments["email"]?.stringValue
        let phone = arguments["phone"]?.stringValue
        guard !query.isEmpty || email != nil || phone != nil else {
            throw ToolError(.missingField, "find needs query (a name, email address or phone number), email or phone", field: "query")
        }
        // The query is tried as every kind of key it can be; a name never normalizes as an address.
        var emails = Set<String>()
        var phones = Set<String>()
        for candidate in [email, query.contains("@") ? query : nil].compactMap({ $0 }) {
            if let normalized = try? AddressNormalizer.email(candidate) { emails.insert(normalized) }
        }
        for candidate in [phone, query.contains("@") ? nil : query].compactMap({ $0 }) where !candidate.isEmpty {
            if let normalized = try? AddressNormalizer.phone(candidate) { phones.insert(normalized) }
        }
        let nameQuery = query.contains("@") ? "" : TextMatching.fold(query)
        let limit = Self.findMaxContacts
        let (emailsFound, phonesFound) = (emails, phones)

        let (contacts, truncated) = try await CRMAccess.read(reader) { db -> ([OntologyObject], Bool) in
            var ids: [String] = []
            for value in emailsFound.sorted() { ids += try CRMAccess.contactIDs(db, org: context.org, kind: "email", value: value) }
            for value in phonesFound.sorted() { ids += try CRMAccess.contactIDs(db, org: context.org, kind: "phone", value: value) }
            var seen = Set<String>()
            var found: [OntologyObject] = []
            for id in ids where seen.insert(id).inserted {
                if let stored = try CRMAccess.object(db, org: context.org, id: id) { found.append(stored.object) }
            }
            if !nameQuery.isEmpty {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT \(CRMAccess.columns) FROM objects o
                    WHERE o.org = ? AND o.type = ? AND o.deleted = 0 AND instr(purser_fold(o.name), ?) > 0
                    ORDER BY o.name, o.id LIMIT ?
                    """, arguments: [context.org, Self.contactType, nameQuery, limit + 1])
                for row in rows {
                    let stored = CRMAccess.stored(row)
                    if seen.insert(stored.object.id).inserted { found.append(stored.object) }
                }
            }
            return (Array(found.prefix(limit)), found.count > limit)
        }
        // In a customer's conversation the agent finds that customer only (see `RowScope`).
        var visible = contacts
        if case .customer(let own) = RowScope.of(context) { visible = contacts.filter { $0.id == own } }
        var result: [String: JSONValue] = ["contacts": .array(visible.map(CRMAccess.compact)), "count": .number(Double(visible.count))]
        if truncated && visible.count == contacts.count { result["truncated"] = true; result["note"] = .string("more than \(limit) contacts match; search by email or phone, or a fuller name") }
        return ToolOutcome(result: .object(result))
    }

    // MARK: create

    func create(_ arguments: JSONValue, _ context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let properties = try Self.mergedProperties(base: .emptyObject, arguments: arguments)
        let name = arguments["name"]?.stringValue
        guard name?.isEmpty == false || !Self.identities(of: properties).isEmpty else {
            throw ToolError(.missingField, "create needs at least a name, an email or a phone", field: "name")
        }
        let id = context.makeId("c_")
        let identities = Self.identities(of: properties)
        try await CRMAccess.read(reader) { db in
            try Self.refuseDuplicates(identities, of: id, org: context.org, db: db)
        }
        let object = OntologyObject(id: id, type: Self.contactType, name: name, status: arguments["status"]?.stringValue,
                                    customProperties: properties, createdAt: context.now, updatedAt: context.now)
        return ToolOutcome(result: ["created": CRMAccess.compact(object)],
                           effects: [ToolEffect(stream: EventStream.object(id), event: .objectCreated(ObjectCreated(object: object)))])
    }

    // MARK: update

    func update(_ arguments: JSONValue, _ context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let id = try CRMAccess.string(arguments, "contactId", for: "update")
        try Self.refuseOtherCustomers(id, context, action: "changed")
        let current = try await CRMAccess.read(reader) { db in try Self.liveContact(id, org: context.org, db: db) }
        var updated = current
        updated.customProperties = try Self.mergedProperties(base: current.customProperties, arguments: arguments)
        if let name = arguments["name"]?.stringValue { updated.name = name }
        if let status = arguments["status"]?.stringValue { updated.status = status }

        var changed: [String] = []
        if updated.name != current.name { changed.append("name") }
        if updated.status != current.status { changed.append("status") }
        let before = current.customProperties.objectValue ?? [:]
        let after = updated.customProperties.objectValue ?? [:]
        for key in Set(before.keys).union(after.keys).sorted() where before[key] != after[key] {
            changed.append("customProperties." + key)
        }
        guard !changed.isEmpty else {
            return ToolOutcome(result: ["updated": CRMAccess.compact(current), "changedFields": [], "note": "nothing changed"])
        }
        let identities = Self.identities(of: updated.customProperties)
        let previous = Set(Self.identities(of: current.customProperties).map { "\($0.kind):\($0.value)" })
        let added = identities.filter { !previous.contains("\($0.kind):\($0.value)") }
        try await CRMAccess.read(reader) { db in
            try Self.refuseDuplicates(added, of: id, org: context.org, db: db)
        }
        updated.updatedAt = context.now
        return ToolOutcome(
            result: ["updated": CRMAccess.compact(updated), "changedFields": .array(changed.map(JSONValue.string))],
            effects: [ToolEffect(stream: EventStream.object(id),
                                 event: .objectUpdated(ObjectUpdated(object: updated, changedFields: changed)))])
    }

    // MARK: delete

    func delete(_ arguments: JSONValue, _ context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let id = try CRMAccess.string(arguments, "contactId", for: "delete")
        try Self.refuseOtherCustomers(id, context, action: "deleted")
        let current = try await CRMAccess.read(reader) { db in try Self.liveContact(id, org: context.org, db: db) }
        let reason = arguments["reason"]?.stringValue
        return ToolOutcome(result: ["deleted": .string(current.id), "name": current.name.map(JSONValue.string) ?? .null],
                           effects: [ToolEffect(stream: EventStream.object(id),
                                                event: .objectDeleted(ObjectDeleted(id: id, objectType: Self.contactType, reason: reason)))])
    }

    // MARK: helpers

    /// In a customer's conversation the agent acts for that customer, so it may change or delete
    /// only that customer's own record (as `booking_tool` cancels only their own bookings).
    /// Without this, a prompt injection ("change Anna's email to mine") would make any customer
    /// an editor of every other customer's record (issue #8). Staff (internal) sessions and calls
    /// outside a session are not limited; a conversation whose contact is not known yet changes
    /// no existing record.
    static func refuseOtherCustomers(_ id: String, _ context: ToolContext, action: String) throws(ToolError) {
        guard context.sessionId != nil, !context.internalSession, id != context.contactId else { return }
        throw ToolError(.notFound, "contact '\(id)' is not the customer of this conversation; in a customer conversation only the customer's own record can be \(action)",
                        field: "contactId")
    }

    /// The contact `id` of `org`, live; anything else is `not_found` (a deleted contact, another
    /// type of object, or another org's id are the same thing to the model: not a contact here).
    static func liveContact(_ id: String, org: OrgID, db: Database) throws -> OntologyObject {
        guard let stored = try CRMAccess.object(db, org: org, id: id), !stored.deleted, stored.object.type == contactType else {
            throw ToolError(.notFound, "no contact '\(id)' in this organization; use action find to get the contact's id", field: "contactId")
        }
        return stored.object
    }

    /// `base` with the call's `customProperties` merged in (a member set to null is removed) and
    /// `email` / `phone` arguments on top, every address normalized.
    static func mergedProperties(base: JSONValue, arguments: JSONValue) throws(ToolError) -> JSONValue {
        var members = base.objectValue ?? [:]
        for (key, value) in arguments["customProperties"]?.objectValue ?? [:] {
            // Explicit: `nil` would be read as JSON null here, JSONValue being nil-literal expressible.
            if value.isNull { members.removeValue(forKey: key) } else { members[key] = value }
        }
        if let email = arguments["email"] { members["email"] = email }
        if let phone = arguments["phone"] { members["phone"] = phone }
        for key in ["email"] + phoneKeys {
            guard let value = members[key], arguments["customProperties"]?[key] != nil || arguments[key] != nil else { continue }
            let field = arguments[key] != nil ? key : "customProperties.\(key)"
            guard let text = value.stringValue else {
                throw ToolError(.badValueType, "\(key) must be a string", field: field)
            }
            do {
                members[key] = .string(key == "email" ? try AddressNormalizer.email(text) : try AddressNormalizer.phone(text))
            } catch {
                throw ToolError(.invalidValue, error.message, field: field)
            }
        }
        return .object(members)
    }

    /// The normalized addresses of a contact's properties, as the projector indexes them.
    static func identities(of properties: JSONValue) -> [(kind: String, value: String)] {
        var out: [(kind: String, value: String)] = []
        for key in phoneKeys {
            if let raw = properties[key]?.stringValue, let phone = try? AddressNormalizer.phone(raw) { out.append(("phone", phone)) }
        }
        if let raw = properties["email"]?.stringValue, let email = try? AddressNormalizer.email(raw) { out.append(("email", email)) }
        return out
    }

    static func refuseDuplicates(_ identities: [(kind: String, value: String)], of id: String, org: OrgID, db: Database) throws {
        for identity in identities {
            if let existing = try CRMAccess.contactIDs(db, org: org, kind: identity.kind, value: identity.value).first(where: { $0 != id }) {
                throw ToolError(.conflict, "contact \(existing) already has the \(identity.kind) \(identity.value); update that contact (contactId \(existing)) instead of creating another",
                                field: identity.kind)
            }
        }
    }
}
