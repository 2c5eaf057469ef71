import Foundation
import GRDB
import PurserDomain

/// The declarations of the standard tools: descriptions written for the model, schemas that
/// match what the executors accept.
public enum ToolSchemas {
    static let fieldDescription: JSONValue = .string(
        "id, type, subtype, name, status, createdAt, updatedAt, or customProperties.<path> (letters, digits, _; dots between parts)")

    public static let dataQueryDescription = """
        Query the organization's own CRM objects (contacts, bookings, and other types). \
        objectType is required (e.g. "crm_contact", "booking"). filters: [{field, op, value}] with op one of \
        eq, neq, gt, gte, lt, lte, in, nin, contains, startsWith, exists. Numbers compare as numbers, ISO-8601 \
        dates ("2026-11-25" or "2026-11-25T10:00:00Z") as instants, other strings as strings (case-sensitive, \
        except contains and startsWith, which ignore case and accents). \
        Relative dates: {"relative": "-7d"} (units h d w M y), "startOfDay", "startOfWeek" (Monday), \
        "startOfMonth", "startOfYear", optionally with an offset such as "startOfMonth-1M"; all UTC. \
        neq and nin also match objects without the field. aggregate: {type: count|sum|avg|min|max, field}, \
        optionally with groupBy (a field). With an aggregate, limit defaults to 0 (no items); otherwise 50, \
        at most 200. includeRelated: link types (e.g. ["contact"]) to attach linked objects to each item. \
        sort: [{field, dir: asc|desc}]; dates sort by instant. Long text is cut and marked "…[trimmed N chars]".
        """

    public static let dataQueryParameters: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "required": ["objectType"],
        "properties": [
            "objectType": ["type": "string", "minLength": 1, "maxLength": .number(Double(DataQuery.maxObjectTypeLengthCharacters))],
            "filters": [
                "type": "array", "maxItems": .number(Double(DataQuery.maxFilterCount)),
                "items": [
                    "type": "object", "additionalProperties": false, "required": ["field", "op"],
                    "properties": [
                        "field": ["type": "string", "description": fieldDescription],
                        "op": ["type": "string", "enum": .array(DataQuery.Operator.allCases.map { .string($0.rawValue) })],
                        "value": ["description": "string, number, boolean, array (for in/nin), or {\"relative\": \"-7d\"}"],
                    ],
                ],
            ],
            "includeRelated": ["type": "array", "maxItems": .number(Double(DataQuery.maxIncludeRelatedCount)), "items": ["type": "string"]],
            "aggregate": [
                "type": "object", "additionalProperties": false, "required": ["type"],
                "properties": [
                    "type": ["type": "string", "enum": .array(DataQuery.AggregateKind.allCases.map { .string($0.rawValue) })],
                    "field": ["type": "string", "description": fieldDescription],
                ],
            ],
            "groupBy": ["type": "string", "description": fieldDescription],
            "sort": [
                "type": "array", "maxItems": .number(Double(DataQuery.maxSortKeyCount)),
                "items": [
                    "type": "object", "additionalProperties": false, "required": ["field"],
                    "properties": ["field": ["type": "string"], "dir": ["type": "string", "enum": ["asc", "desc"]]],
                ],
            ],
            "limit": ["type": "integer", "minimum": 0, "maximum": .number(Double(DataQuery.maxLimitObjects))],
            "offset": ["type": "integer", "minimum": 0, "maximum": .number(Double(DataQuery.maxOffsetObjects))],
        ],
    ]

    public static let crmParameters: JSONValue = [
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

    public static let bookingParameters: JSONValue = [
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

    public static let knowledgeParameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["query"],
        "properties": ["query": ["type": "string", "minLength": 1, "maxLength": 500]],
    ]

    public static let sendMessageParameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["text"],
        "properties": ["text": ["type": "string", "minLength": 1, "maxLength": 4000]],
    ]

    public static let bulkEmailParameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["segment", "subject", "body"],
        "properties": [
            "segment": ["type": "object", "description": "a data_query_tool query selecting the contacts to email"],
            "subject": ["type": "string", "minLength": 1, "maxLength": 200],
            "body": ["type": "string", "minLength": 1, "maxLength": 20000],
        ],
    ]

    public static let handoffParameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["reason"],
        "properties": ["reason": ["type": "string", "minLength": 1, "maxLength": 1000]],
    ]

    /// `crm_tool`: finding is a read, creating and updating are writes, deleting is
    /// `delete_contact`. An unrecognized action counts as the riskiest, so a malformed call is
    /// never classified below what it might do.
    @Sendable public static func crmCategory(_ arguments: JSONValue) -> ActionCategory {
        switch arguments["action"]?.stringValue {
        case "find": .read
        case "create", "update": .write
        default: .deleteContact
        }
    }

    /// `booking_tool`: availability is a read, cancelling a write, creating a write or, with a
    /// price above zero (or a price that is not a number), `financial`.
    @Sendable public static func bookingCategory(_ arguments: JSONValue) -> ActionCategory {
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

    /// The seven tools (docs/ARCHITECTURE.md, "Tools"); the executors that read org data read the `crm` read model.
    public static func definitions(crm: any DatabaseReader) -> [ToolDefinition] {
        [
            ToolDefinition(name: KnownTools.dataQuery, description: dataQueryDescription, parameters: dataQueryParameters,
                           baseCategory: .read, executor: DataQueryExecutor(engine: DataQueryEngine(reader: crm))),
            ToolDefinition(name: KnownTools.crm, description: """
                Find, create, update or delete a contact in the organization's CRM. find: query (part of a name, or an email \
                or phone), returns matching contacts with their ids. create: name and/or email/phone (a contact whose email \
                or phone already exists is refused with that contact's id). update/delete: contactId.
                """,
                           parameters: crmParameters, baseCategory: .write, categoryOf: crmCategory,
                           executor: CRMExecutor(reader: crm)),
            ToolDefinition(name: KnownTools.booking, description: """
                Bookings of the organization's resources (boats, courses, rooms; get their ids with data_query_tool). \
                availability: resourceId, from, to (ISO-8601) lists bookings overlapping the range and says whether it is free. \
                create: resourceId, from, to, optional price and currency, booked for this conversation's contact; an overlap \
                is refused naming the booking in the way. cancel: bookingId (in a customer conversation, only their own bookings).
                """,
                           parameters: bookingParameters, baseCategory: .write, categoryOf: bookingCategory,
                           executor: BookingExecutor(reader: crm)),
            ToolDefinition(name: KnownTools.knowledge, description: "Search the agent's FAQ entries and knowledge documents; returns the best matching passages, best first.",
                           parameters: knowledgeParameters, baseCategory: .read,
                           executor: KnowledgeExecutor(reader: crm)),
            ToolDefinition(name: KnownTools.sendMessage, description: "Send a message to the contact of this conversation, on its channel.",
                           parameters: sendMessageParameters, baseCategory: .message,
                           executor: SendMessageExecutor()),
            ToolDefinition(name: KnownTools.bulkCRMEmail, description: """
                Email every contact in a segment: a data_query_tool query with objectType "crm_contact" (filters, optionally \
                sort with limit). Contacts without an email are left out; at most \(BulkEmailExecutor.bulkEmailRecipientsMax) \
                recipients per call, a larger segment is refused.
                """,
                           parameters: bulkEmailParameters, baseCategory: .bulkEmail,
                           executor: BulkEmailExecutor(reader: crm)),
            // Handing over to a human changes no org data and sends nothing; it is the safe exit
            // every autonomy level must keep open, so it is classed with reads.
            ToolDefinition(name: KnownTools.handoff, description: "Hand this conversation to a human, with the reason.",
                           parameters: handoffParameters, baseCategory: .read,
                           executor: HandoffExecutor()),
        ]
    }
}
