import Foundation
import GRDB
import PurserCore
import PurserDomain

extension ToolDefinition {
    /// `booking_tool`: availability, booking and cancelling the org's resources.
    public static let booking = ToolDefinition(
        name: "booking_tool", description: """
            Bookings of the organization's resources (boats, courses, rooms; get their ids with \(ToolDefinition.dataQuery.name)). \
            availability: resourceId, from, to (ISO-8601) lists bookings overlapping the range and says whether it is free. \
            create: resourceId, from, to, optional price and currency, booked for this conversation's contact; an overlap \
            is refused naming the booking in the way. cancel: bookingId (in a customer conversation, only their own bookings).
            """,
        parameters: BookingExecutor.parameters, baseCategory: .write, categoryOf: BookingExecutor.category,
        executor: { BookingExecutor(reader: $0.crm) })
}

/// `booking_tool`: a resource's availability over a time range, booking it with conflict
/// detection, and cancelling a booking.
///
/// A booking is an ontology object of type `booking` whose `customProperties` hold `resourceId`,
/// `startsAt`, `endsAt` (ISO-8601), `price`, `currency` and the booking `contactId`; a booking
/// counts as taking its resource unless its `status` is `cancelled`. Intervals are half-open:
/// a booking ending at 12:00 and one starting at 12:00 do not overlap.
///
/// Cancelling: in a customer's session (the context has a `contactId` and is not internal) only
/// that contact's own bookings can be cancelled, so one customer cannot cancel another's course
/// by guessing an id; staff in an internal session, and calls outside a session, may cancel any
/// booking of the org. Cancelling an already cancelled booking changes nothing and says so.
///
/// The conflict check reads the read model, so it sees every booking appended before the
/// projector's last catch-up; two sessions booking the same slot in the same instant can both
/// pass it (the pipeline would have to serialize bookings per resource to close that window).
public struct BookingExecutor: ToolExecutor {
    public static let bookingType = "booking"
    public static let cancelledStatus = "cancelled"
    public static let confirmedStatus = "confirmed"
    /// Link type from a contact to its bookings (what `includeRelated: ["bookings"]` follows).
    public static let contactLinkType = "bookings"
    /// Link type from a booking to the resource it takes.
    public static let resourceLinkType = "resource"
    /// Existing bookings listed by `availability`, earliest first.
    public static let availabilityMaxBookings = 50

    public let reader: any DatabaseReader

    public init(reader: any DatabaseReader) {
        self.reader = reader
    }

    static let parameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["action"],
        "properties": [
            "action": ["type": "string", "enum": ["availability", "create", "cancel"]],
            "resourceId": ["type": "string", "minLength": 1],
            "from": ["type": "string", "description": "ISO-8601 start of the range or booking"],
            "to": ["type": "string", "description": "ISO-8601 end of the range or booking"],
            "bookingId": ["type": "string", "minLength": 1, "description": "required for cancel"],
            "price": ["type": "number", "minimum": 0, "description": "a price above 0 makes the booking a financial action"],
            "currency": ["type": "string", "minLength": 3, "maxLength": 3],
            "note": ["type": "string", "maxLength": 2000, "description": "stored with a new booking, or with a cancellation"],
        ],
    ]

    /// `booking_tool`: availability is a read, cancelling a write, creating a write or, with a
    /// price above zero (or a price that is not a number), `financial`.
    @Sendable static func category(_ arguments: JSONValue) -> ActionCategory {
        switch arguments["action"]?.stringValue {
        case "availability": return .read
        case "cancel": return .write
        case "create":
            guard let price = arguments["price"] else { return .write }
            if let number = price.doubleValue, number <= 0 { return .write }
            return .financial
        default: return .financial
        }
    }

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        switch arguments["action"]?.stringValue {
        case "availability": return try await availability(arguments, context)
        case "create": return try await create(arguments, context)
        case "cancel": return try await cancel(arguments, context)
        default:
            throw ToolError(.invalidArguments, "action must be one of availability, create, cancel", field: "action")
        }
    }

    /// The range of the call: `from` strictly before `to`.
    static func range(_ arguments: JSONValue) throws(ToolError) -> (from: Timestamp, to: Timestamp) {
        let from = try CRMAccess.instant(arguments, "from")
        let to = try CRMAccess.instant(arguments, "to")
        guard from < to else {
            throw ToolError(.invalidValue, "from (\(from.iso8601)) must be before to (\(to.iso8601))", field: "to")
        }
        return (from, to)
    }

    /// The live resource `id` of `org`, or `not_found`.
    static func resource(_ id: String, org: OrgID, db: Database) throws -> OntologyObject {
        guard let stored = try CRMAccess.object(db, org: org, id: id), !stored.deleted,
              stored.object.type != bookingType, stored.object.type != CRMExecutor.contactType else {
            throw ToolError(.notFound, "no resource '\(id)' in this organization; use \(ToolDefinition.dataQuery.name) to list resources (e.g. boats, courses) and their ids",
                            field: "resourceId")
        }
        return stored.object
    }

    /// The org's non-cancelled bookings of `resourceId` overlapping `[from, to)`, earliest first.
    /// Instants are compared through `purser_instant`, so offsets and fractions order correctly.
    static func overlapping(resourceId: String, from: Timestamp, to: Timestamp, org: OrgID, limit: Int, db: Database) throws -> [OntologyObject] {
        try Row.fetchAll(db, sql: """
            SELECT \(CRMAccess.columns) FROM objects o
            WHERE o.org = ? AND o.type = ? AND o.deleted = 0 AND COALESCE(o.status, '') <> ?
              AND json_extract(o.custom_properties, '$.resourceId') = ?
              AND purser_instant(json_extract(o.custom_properties, '$.startsAt')) < ?
              AND purser_instant(json_extract(o.custom_properties, '$.endsAt')) > ?
            ORDER BY purser_instant(json_extract(o.custom_properties, '$.startsAt')), o.id LIMIT ?
            """, arguments: [org, bookingType, cancelledStatus, resourceId,
                             to.millisecondsSinceEpoch, from.millisecondsSinceEpoch, limit]).map { CRMAccess.stored($0).object }
    }

    /// What `availability` tells about a booking: when, not who, so one customer's session never
    /// learns another customer's details.
    static func slot(_ booking: OntologyObject) -> JSONValue {
        var members: [String: JSONValue] = ["bookingId": .string(booking.id)]
        for key in ["startsAt", "endsAt"] {
            if let value = booking.customProperties[key] { members[key] = value }
        }
        if let status = booking.status { members["status"] = .string(status) }
        return .object(members)
    }

    // MARK: availability

    func availability(_ arguments: JSONValue, _ context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let resourceId = try CRMAccess.string(arguments, "resourceId", for: "availability")
        let (from, to) = try Self.range(arguments)
        let limit = Self.availabilityMaxBookings
        let (resource, bookings) = try await CRMAccess.read(reader) { db in
            let resource = try Self.resource(resourceId, org: context.org, db: db)
            return (resource, try Self.overlapping(resourceId: resourceId, from: from, to: to, org: context.org, limit: limit + 1, db: db))
        }
        var result: [String: JSONValue] = [
            "resourceId": .string(resourceId), "from": .string(from.iso8601), "to": .string(to.iso8601),
            "free": .bool(bookings.isEmpty), "bookings": .array(bookings.prefix(limit).map(Self.slot)),
        ]
        if let name = resource.name { result["resourceName"] = .string(name) }
        if bookings.count > limit { result["bookingsTruncated"] = true }
        return ToolOutcome(result: DataQueryEngine.trimmed(.object(result)))
    }

    // MARK: create

    func create(_ arguments: JSONValue, _ context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let resourceId = try CRMAccess.string(arguments, "resourceId", for: "create")
        let (from, to) = try Self.range(arguments)
        let price = arguments["price"]?.doubleValue
        let currency = arguments["currency"]?.stringValue?.uppercased()
        if let price, price > 0, currency == nil {
            throw ToolError(.missingField, "currency is required with a price (ISO 4217, e.g. EUR)", field: "currency")
        }
        let resource = try await CRMAccess.read(reader) { db in
            let resource = try Self.resource(resourceId, org: context.org, db: db)
            if let clash = try Self.overlapping(resourceId: resourceId, from: from, to: to, org: context.org, limit: 1, db: db).first {
                let when = [clash.customProperties["startsAt"]?.stringValue, clash.customProperties["endsAt"]?.stringValue]
                    .compactMap { $0 }.joined(separator: " to ")
                throw ToolError(.conflict, "\(resourceId) is already booked by booking \(clash.id) (\(when)); use action availability to find a free time",
                                field: "from")
            }
            return resource
        }

        let id = context.makeId("b_")
        var properties: [String: JSONValue] = [
            "resourceId": .string(resourceId), "startsAt": .string(from.iso8601), "endsAt": .string(to.iso8601),
        ]
        if let price { properties["price"] = .number(price) }
        if let currency { properties["currency"] = .string(currency) }
        if let contactId = context.contactId { properties["contactId"] = .string(contactId) }
        if let note = arguments["note"]?.stringValue { properties["note"] = .string(note) }
        if let sessionId = context.sessionId { properties["sessionId"] = .string(sessionId) }
        let booking = OntologyObject(id: id, type: Self.bookingType, name: "\(resource.name ?? resourceId), \(from.iso8601)",
                                     status: Self.confirmedStatus, customProperties: .object(properties),
                                     createdAt: context.now, updatedAt: context.now)

        var effects = [ToolEffect(stream: EventStream.object(id), event: .objectCreated(ObjectCreated(object: booking)))]
        if let contactId = context.contactId {
            effects.append(ToolEffect(stream: EventStream.links(from: contactId),
                                      event: .linkCreated(LinkCreated(link: ObjectLink(from: contactId, to: id, linkType: Self.contactLinkType)))))
        }
        effects.append(ToolEffect(stream: EventStream.links(from: id),
                                  event: .linkCreated(LinkCreated(link: ObjectLink(from: id, to: resourceId, linkType: Self.resourceLinkType)))))
        return ToolOutcome(result: ["created": CRMAccess.compact(booking)], effects: effects)
    }

    // MARK: cancel

    func cancel(_ arguments: JSONValue, _ context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let id = try CRMAccess.string(arguments, "bookingId", for: "cancel")
        let booking = try await CRMAccess.read(reader) { db -> OntologyObject in
            guard let stored = try CRMAccess.object(db, org: context.org, id: id), !stored.deleted, stored.object.type == Self.bookingType else {
                throw ToolError(.notFound, "no booking '\(id)' in this organization; use \(ToolDefinition.dataQuery.name) with objectType booking to find its id",
                                field: "bookingId")
            }
            // A customer conversation whose contact is not known yet owns no booking: without
            // this, an unknown sender could cancel any booking of the org (issue #8).
            if context.sessionId != nil, !context.internalSession, context.contactId == nil {
                throw ToolError(.notFound, "booking '\(id)' is not one of this contact's bookings; only the contact's own bookings can be cancelled here",
                                field: "bookingId")
            }
            if let contactId = context.contactId, !context.internalSession,
               stored.object.customProperties["contactId"]?.stringValue != contactId {
                let linked = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM links WHERE org = ? AND from_id = ? AND link_type = ? AND to_id = ?)",
                                               arguments: [context.org, contactId, Self.contactLinkType, id]) ?? false
                guard linked else {
                    throw ToolError(.notFound, "booking '\(id)' is not one of this contact's bookings; only the contact's own bookings can be cancelled here",
                                    field: "bookingId")
                }
            }
            return stored.object
        }
        guard booking.status != Self.cancelledStatus else {
            return ToolOutcome(result: ["cancelled": .string(id), "alreadyCancelled": true])
        }
        var updated = booking
        updated.status = Self.cancelledStatus
        updated.updatedAt = context.now
        if case .object(var members) = updated.customProperties {
            members["cancelledAt"] = .string(context.now.iso8601)
            if let reason = arguments["note"]?.stringValue { members["cancellationNote"] = .string(reason) }
            updated.customProperties = .object(members)
        }
        let changed = ["status", "customProperties.cancelledAt"] + (arguments["note"] != nil ? ["customProperties.cancellationNote"] : [])
        return ToolOutcome(result: ["cancelled": .string(id), "booking": CRMAccess.compact(updated)],
                           effects: [ToolEffect(stream: EventStream.object(id),
                                                event: .objectUpdated(ObjectUpdated(object: updated, changedFields: changed)))])
    }
}
