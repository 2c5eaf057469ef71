import Foundation
import GRDB
import PurserDomain

extension ToolDefinition {
    /// `bulk_crm_email_tool`: one email to every contact of a segment, capped.
    public static let bulkCRMEmail = ToolDefinition(
        name: "bulk_crm_email_tool", description: """
            Email every contact in a segment: a \(ToolDefinition.dataQuery.name) query with objectType "crm_contact" (filters, optionally \
            sort with limit). Contacts without an email are left out; at most \(BulkEmailExecutor.bulkEmailRecipientsMax) \
            recipients per call, a larger segment is refused.
            """,
        parameters: BulkEmailExecutor.parameters, baseCategory: .bulkEmail,
        executor: { BulkEmailExecutor(reader: $0.crm) })
}

/// `bulk_crm_email_tool`: emails every contact of a segment, the segment being a
/// `data_query_tool` query over `crm_contact` objects (its filters, and optionally `sort` with
/// `limit`/`offset` for "the 20 newest leads"), run for the context's org only.
///
/// Each contact with an email address (`customProperties.email`) gets one `message.sent` on
/// channel `email`, with the subject and body of the call; contacts sharing an address get one
/// message, and addresses that do not normalize are skipped and counted. The messages go on the
/// calling session's stream when there is one (the send belongs to the conversation that asked
/// for it), else on each contact's object stream. They are sent from the agent's enabled email
/// binding, when it has one.
///
/// A segment with more than `bulkEmailRecipientsMax` contacts holding an email is refused whole:
/// an unbounded bulk email is the costliest mistake an agent can make (issue #8), and sending
/// the first N of a larger set would be arbitrary. The model can narrow the segment instead.
public struct BulkEmailExecutor: ToolExecutor {
    /// The most contacts one call may email.
    public static let bulkEmailRecipientsMax = 500

    public let reader: any DatabaseReader

    public init(reader: any DatabaseReader) {
        self.reader = reader
    }

    /// Members of a `data_query_tool` query that mean nothing for choosing recipients.
    static let refusedSegmentKeys = ["aggregate", "groupBy", "includeRelated"]

    static let parameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["segment", "subject", "body"],
        "properties": [
            "segment": ["type": "object", "description": .string("a \(ToolDefinition.dataQuery.name) query selecting the contacts to email")],
            "subject": ["type": "string", "minLength": 1, "maxLength": 200],
            "body": ["type": "string", "minLength": 1, "maxLength": 20000],
        ],
    ]

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let subject = try CRMAccess.string(arguments, "subject", for: ToolDefinition.bulkCRMEmail.name)
        let body = try CRMAccess.string(arguments, "body", for: ToolDefinition.bulkCRMEmail.name)
        guard let segment = arguments["segment"], segment.objectValue != nil else {
            throw ToolError(.missingField, "segment is required: a \(ToolDefinition.dataQuery.name) query with objectType crm_contact", field: "segment")
        }
        guard segment["objectType"]?.stringValue == CRMExecutor.contactType else {
            throw ToolError(.invalidValue, "segment.objectType must be \"crm_contact\": bulk email goes to contacts only", field: "segment.objectType")
        }
        for key in Self.refusedSegmentKeys where segment[key] != nil {
            throw ToolError(.invalidValue, "segment.\(key) does not select recipients; use filters (and sort with limit) only", field: "segment.\(key)")
        }
        let query: DataQuery
        do {
            query = try DataQuery.parse(segment, now: context.now)
        } catch {
            var located = error
            located.field = "segment" + (error.field.map { $0.hasPrefix("[") ? $0 : "." + $0 } ?? "")
            throw located
        }
        // Without an explicit limit, the segment is every matching contact, not one page.
        let page: (limit: Int, offset: Int)? = segment["limit"] != nil ? (query.limit, query.offset) : nil
        let maximum = Self.bulkEmailRecipientsMax

        let rows = try await CRMAccess.read(reader) { db -> [(id: String, email: String)] in
            let selection = DataQueryEngine.selection(query, org: context.org)
            let withEmail = "\(selection.sql) AND json_type(o.custom_properties, '$.email') = 'text'"
            var order = ""
            var orderArguments: [DatabaseValue] = []
            var pageSQL = ""
            var pageArguments: [DatabaseValue] = []
            if let page {
                var parts: [String] = []
                for key in query.sort {
                    let value = DataQueryEngine.sortValue(key.field)
                    parts.append(value.sql + (key.descending ? " DESC" : " ASC"))
                    orderArguments += value.arguments
                }
                order = parts.map { $0 + ", " }.joined()
                pageSQL = " LIMIT ? OFFSET ?"
                pageArguments = [page.limit.databaseValue, page.offset.databaseValue]
            }
            let candidates = """
                SELECT o.id AS id, json_extract(o.custom_properties, '$.email') AS email FROM objects o WHERE \(withEmail)
                ORDER BY \(order)o.id\(pageSQL)
                """
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (\(candidates))",
                                         arguments: StatementArguments(selection.arguments + orderArguments + pageArguments)) ?? 0
            guard count <= maximum else {
                throw ToolError(.tooManyRecipients, "the segment holds \(count) contacts with an email address; one bulk email may reach at most \(maximum). Narrow the segment with filters and send in parts, or hand off to a human",
                                field: "segment")
            }
            return try Row.fetchAll(db, sql: candidates, arguments: StatementArguments(selection.arguments + orderArguments + pageArguments))
                .map { (id: $0["id"], email: $0["email"]) }
        }

        let from = context.config?.customProperties.channelBindings.first { $0.channel == .email && $0.enabled }?.address
        var seen = Set<String>()
        var skipped: [String] = []
        var effects: [ToolEffect] = []
        for row in rows {
            guard let address = try? AddressNormalizer.email(row.email) else {
                skipped.append(row.id)
                continue
            }
            guard seen.insert(address).inserted else { continue }
            let message = MessageSent(messageId: context.makeId("msg_"), agentId: context.agentId, sessionId: context.sessionId,
                                      channel: .email, from: from, to: address, text: body, subject: subject)
            let stream = context.sessionId.map(EventStream.session) ?? EventStream.object(row.id)
            effects.append(ToolEffect(stream: stream, event: .messageSent(message)))
        }
        var result: [String: JSONValue] = [
            "recipients": .number(Double(effects.count)), "subject": .string(subject),
            "contactsMatched": .number(Double(rows.count)),
        ]
        if rows.count - skipped.count > effects.count {
            result["duplicateAddressesMerged"] = .number(Double(rows.count - skipped.count - effects.count))
        }
        if !skipped.isEmpty {
            result["skippedInvalidEmail"] = .array(skipped.prefix(20).map(JSONValue.string))
        }
        if effects.isEmpty { result["note"] = "no contact in the segment has a valid email address; nothing was sent" }
        return ToolOutcome(result: .object(result), effects: effects)
    }
}
