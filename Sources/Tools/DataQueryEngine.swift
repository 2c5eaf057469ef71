import Foundation
import GRDB
import PurserCore
import PurserDomain

/// Runs `DataQuery`s against the `crm` read model (projections/crm/schema.sql).
///
/// Every statement is built from fixed SQL fragments chosen by the query's validated structure;
/// values, JSON paths, object types and link types travel only as bound parameters. Every
/// statement, related-object lookups included, is restricted to `org = ?` with the org the
/// engine was given by the calling agent's context, never one from the query.
/// Which of the org's rows a query may see. Staff (internal sessions, the command line, the API)
/// see the whole org; in a customer's conversation the agent sees what that customer may see:
/// their own contact record, objects linked to it or naming it as `customProperties.contactId`
/// (their bookings, invoices), and objects tied to no contact at all (the catalog: courses,
/// products, documents) — never another customer's record or bookings, whatever the model asks.
public enum RowScope: Sendable, Hashable {
    case organization
    case customer(contactId: String?)

    /// The scope of a tool call: a customer's when it runs in a customer's session.
    public static func of(_ context: ToolContext) -> RowScope {
        context.sessionId != nil && !context.internalSession ? .customer(contactId: context.contactId) : .organization
    }
}

public struct DataQueryEngine: Sendable {
    public let reader: any DatabaseReader

    public init(reader: any DatabaseReader) {
        self.reader = reader
    }

    /// Runs a parsed query for `org` and returns the compact result the model receives.
    public func run(_ query: DataQuery, org: OrgID, scope: RowScope = .organization) throws(ToolError) -> JSONValue {
        do {
            return try reader.read { db in
                Self.addFunctions(to: db)
                return try Self.run(query, org: org, scope: scope, db: db)
            }
        } catch let error as ToolError {
            throw error
        } catch {
            throw ToolError(.readModelFailed, "the CRM read model could not be read; try again later", cause: error)
        }
    }

    /// Parses `arguments` and runs them: the whole of `data_query_tool`. Bad queries come back
    /// as the `{"error": ...}` object, so the model always receives JSON it can act on.
    public func execute(arguments: JSONValue, org: OrgID, now: Timestamp, scope: RowScope = .organization) -> JSONValue {
        do {
            return try run(DataQuery.parse(arguments, now: now), org: org, scope: scope)
        } catch {
            return error.json
        }
    }

    /// Registers the Swift functions the compiled SQL calls (`purser_instant`, `purser_sort_value`,
    /// `purser_fold`); every connection that runs a query's SQL needs them.
    static func addFunctions(to db: Database) {
        db.add(function: instantFunction())
        db.add(function: sortValueFunction())
        db.add(function: CRMAccess.foldFunction())
    }

    /// `purser_instant(text)`: the instant an ISO-8601 text names, in milliseconds since the
    /// epoch, by the same parser as the rest of Purser (`Timestamp`); NULL for anything else.
    /// Text comparison would misorder fractions and offsets, and SQLite's own date functions
    /// accept forms (times without a zone) that Purser refuses.
    static func instantFunction() -> DatabaseFunction {
        DatabaseFunction("purser_instant", argumentCount: 1, pure: true) { values in
            guard let text = String.fromDatabaseValue(values[0]), let instant = Timestamp(iso8601: text) else { return nil }
            return instant.millisecondsSinceEpoch
        }
    }

    /// `purser_sort_value(value)`: what a custom field sorts and groups by. Missing values,
    /// numbers and other text keep SQLite's order (NULL, then numbers, then text by bytes); a text
    /// that parses as ISO-8601 becomes a BLOB of its instant, 8 bytes big-endian with the sign bit
    /// flipped, so timestamps sort after all text, among themselves by instant. Sorting their text
    /// instead put `2026-02-28T23:30:00-01:00` (00:30Z on March 1st) before `2026-03-01T00:00:00Z`.
    static func sortValueFunction() -> DatabaseFunction {
        DatabaseFunction("purser_sort_value", argumentCount: 1, pure: true) { values in
            let value = values[0]
            guard case .string(let text) = value.storage else { return value }
            guard let instant = Timestamp(iso8601: text) else { return text }
            return Data(instantSortBytes(instant))
        }
    }

    /// An instant as bytes that compare (memcmp, as SQLite compares BLOBs) in time order.
    static func instantSortBytes(_ instant: Timestamp) -> [UInt8] {
        let key = UInt64(bitPattern: instant.millisecondsSinceEpoch) ^ (1 << 63)
        return (0..<8).map { UInt8(truncatingIfNeeded: key >> (56 - 8 * $0)) }
    }

    // MARK: SQL

    /// A fragment of SQL and the values bound to its placeholders, in order.
    struct Fragment {
        var sql: String
        var arguments: [DatabaseValue]

        init(_ sql: String, _ arguments: [DatabaseValue] = []) {
            self.sql = sql
            self.arguments = arguments
        }
    }

    static func jsonPath(_ segments: [String]) -> DatabaseValue {
        ("$." + segments.joined(separator: ".")).databaseValue
    }

    /// The column a top-level field lives in, the same in the SQLite and PostgreSQL crm schemas;
    /// fixed names, never query text.
    static func column(_ field: DataQuery.Field) -> String {
        switch field {
        case .id: "o.id"
        case .type: "o.type"
        case .subtype: "o.subtype"
        case .name: "o.name"
        case .status: "o.status"
        case .createdAt: "o.created_at"
        case .updatedAt: "o.updated_at"
        case .custom: "o.custom_properties"
        }
    }

    /// A predicate that is 1 or 0, never NULL, so `NOT` and `OR` behave as the reference does.
    static func predicate(_ filter: DataQuery.Filter) -> Fragment {
        switch filter.op {
        case .exists:
            let present = existence(filter.field)
            return Fragment(filter.exists ? present.sql : "NOT \(present.sql)", present.arguments)
        case .neq, .nin:
            let inner = disjunction(filter.field, .eq, filter.operands)
            return Fragment("NOT \(inner.sql)", inner.arguments)
        case .in:
            return disjunction(filter.field, .eq, filter.operands)
        default:
            return disjunction(filter.field, filter.op, filter.operands)
        }
    }

    static func disjunction(_ field: DataQuery.Field, _ op: DataQuery.Operator, _ operands: [DataQuery.Operand]) -> Fragment {
        var parts: [String] = []
        var arguments: [DatabaseValue] = []
        for operand in operands {
            let part = comparison(field, op, operand)
            parts.append("COALESCE((\(part.sql)), 0)")
            arguments += part.arguments
        }
        return Fragment("(" + parts.joined(separator: " OR ") + ")", arguments)
    }

    static func existence(_ field: DataQuery.Field) -> Fragment {
        if case .custom(let path) = field {
            return Fragment("COALESCE(json_type(o.custom_properties, ?) NOT IN ('null'), 0)", [jsonPath(path)])
        }
        return Fragment("(\(column(field)) IS NOT NULL)")
    }

    static func sqlOperator(_ op: DataQuery.Operator) -> String {
        switch op {
        case .gt: ">"
        case .gte: ">="
        case .lt: "<"
        case .lte: "<="
        default: "="
        }
    }

    static func comparison(_ field: DataQuery.Field, _ op: DataQuery.Operator, _ operand: DataQuery.Operand) -> Fragment {
        let symbol = sqlOperator(op)
        switch field {
        case .custom(let segments):
            let path = jsonPath(segments)
            let value = "json_extract(o.custom_properties, ?)"
            switch (op, operand) {
            case (.contains, .string(let text)):
                let folded = TextMatching.fold(text).databaseValue
                return Fragment("""
                    CASE json_type(o.custom_properties, ?) WHEN 'text' THEN instr(purser_fold(\(value)), ?) > 0 \
                    WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(o.custom_properties, ?) AS e WHERE e.type = 'text' AND purser_fold(e.value) = ?) \
                    ELSE 0 END
                    """, [path, path, folded, path, folded])
            case (.startsWith, .string(let text)):
                return Fragment("json_type(o.custom_properties, ?) = 'text' AND instr(purser_fold(\(value)), ?) = 1",
                                [path, path, TextMatching.fold(text).databaseValue])
            case (_, .number(let number)):
                return Fragment("json_type(o.custom_properties, ?) IN ('integer', 'real') AND \(value) \(symbol) ?", [path, path, number.databaseValue])
            case (_, .bool(let flag)):
                return Fragment("json_type(o.custom_properties, ?) = ?", [path, (flag ? "true" : "false").databaseValue])
            case (_, .instant(let instant)):
                return Fragment("purser_instant(\(value)) \(symbol) ?", [path, instant.millisecondsSinceEpoch.databaseValue])
            case (_, .string(let text)):
                return Fragment("json_type(o.custom_properties, ?) = 'text' AND \(value) \(symbol) ?", [path, path, text.databaseValue])
            }
        default:
            let name = column(field)
            switch (op, operand) {
            case (.contains, .string(let text)):
                return Fragment("instr(purser_fold(\(name)), ?) > 0", [TextMatching.fold(text).databaseValue])
            case (.startsWith, .string(let text)):
                return Fragment("instr(purser_fold(\(name)), ?) = 1", [TextMatching.fold(text).databaseValue])
            case (_, .instant(let instant)):
                return Fragment("purser_instant(\(name)) \(symbol) ?", [instant.millisecondsSinceEpoch.databaseValue])
            case (_, .string(let text)):
                return Fragment("\(name) \(symbol) ?", [text.databaseValue])
            default:
                // Parsing gives top-level fields only string or instant operands.
                return Fragment("0")
            }
        }
    }

    /// The value a field sorts and groups by: instants for the timestamp columns; for custom
    /// paths the JSON value in SQLite's order (missing, numbers, text) with ISO-8601 texts last,
    /// by instant (`purser_sort_value`).
    static func sortValue(_ field: DataQuery.Field) -> Fragment {
        switch field {
        case .custom(let path): Fragment("purser_sort_value(json_extract(o.custom_properties, ?))", [jsonPath(path)])
        case .createdAt, .updatedAt: Fragment("purser_instant(\(column(field)))")
        default: Fragment(column(field))
        }
    }

    /// The numeric value of a custom path, NULL when it is missing or not a number.
    static func numericValue(_ path: [String]) -> Fragment {
        Fragment("CASE WHEN json_type(o.custom_properties, ?) IN ('integer', 'real') THEN json_extract(o.custom_properties, ?) END",
                 [jsonPath(path), jsonPath(path)])
    }

    /// An ungrouped aggregate, straight over each object. Two JSON calls per object cost less
    /// here than the materialized first step `groupedAggregate` takes (measured).
    static func aggregateExpression(_ aggregate: DataQuery.Aggregate) -> Fragment {
        switch (aggregate.kind, aggregate.field) {
        case (.count, nil):
            return Fragment("COUNT(*)")
        case (.count, let field?):
            let present = existence(field)
            return Fragment("TOTAL(CASE WHEN \(present.sql) THEN 1 ELSE 0 END)", present.arguments)
        case (_, .custom(let path)?):
            let value = numericValue(path)
            let function = switch aggregate.kind {
            case .sum: "TOTAL"
            case .avg: "AVG"
            case .min: "MIN"
            default: "MAX"
            }
            return Fragment("\(function)(\(value.sql))", value.arguments)
        case (_, let field?):
            return Fragment("\(aggregate.kind == .min ? "MIN" : "MAX")(purser_instant(\(column(field))))")
        case (_, nil):
            // Parsing requires a field for every aggregate but count.
            return Fragment("NULL")
        }
    }

    /// The `WHERE` condition (over `objects o`) selecting the query's live objects of `org`:
    /// what `run` counts, pages and aggregates, and what `bulk_crm_email_tool` sends to.
    static func selection(_ query: DataQuery, org: OrgID, scope: RowScope = .organization) -> Fragment {
        var whereSQL = "o.org = ? AND o.type = ? AND o.deleted = 0"
        var whereArguments: [DatabaseValue] = [org.databaseValue, query.objectType.databaseValue]
        if let visible = visibility(scope) {
            whereSQL += " AND \(visible.sql)"
            whereArguments += visible.arguments
        }
        for filter in query.filters {
            let part = predicate(filter)
            whereSQL += " AND \(part.sql)"
            whereArguments += part.arguments
        }
        return Fragment(whereSQL, whereArguments)
    }

    /// The rows of `objects o` a customer may see (see `RowScope`); nil for staff. The contact id
    /// travels as a bound parameter like every other value.
    static func visibility(_ scope: RowScope) -> Fragment? {
        guard case .customer(let contactId) = scope else { return nil }
        // No contact yet: an id no object has, so only the catalog is visible.
        let contact = (contactId ?? "\u{0}no-contact").databaseValue
        return Fragment("""
            ((o.type = 'crm_contact' AND o.id = ?) OR (o.type <> 'crm_contact' AND (\
            EXISTS (SELECT 1 FROM links l WHERE l.org = o.org AND ((l.from_id = ? AND l.to_id = o.id) OR (l.to_id = ? AND l.from_id = o.id))) \
            OR json_extract(o.custom_properties, '$.contactId') = ? \
            OR (json_extract(o.custom_properties, '$.contactId') IS NULL AND NOT EXISTS (SELECT 1 FROM links l JOIN objects c \
            ON c.org = l.org AND c.type = 'crm_contact' AND c.id = CASE WHEN l.from_id = o.id THEN l.to_id ELSE l.from_id END \
            WHERE l.org = o.org AND (l.from_id = o.id OR l.to_id = o.id))))))
            """, [contact, contact, contact, contact])
    }

    static func run(_ query: DataQuery, org: OrgID, scope: RowScope = .organization, db: Database) throws -> JSONValue {
        let selection = selection(query, org: org, scope: scope)
        let whereSQL = selection.sql
        let whereArguments = selection.arguments

        var result = DataQueryResult()
        // An aggregate counts its rows in the same pass; otherwise the page needs its own count.
        var counted = false
        if query.limit > 0 {
            var orderParts: [String] = []
            var orderArguments: [DatabaseValue] = []
            for key in query.sort {
                let value = sortValue(key.field)
                orderParts.append(value.sql + (key.descending ? " DESC" : " ASC"))
                orderArguments += value.arguments
            }
            orderParts.append("o.id ASC")
            let sql = """
                SELECT o.id, o.type, o.subtype, o.name, o.status, o.custom_properties, o.created_at, o.updated_at
                FROM objects o WHERE \(whereSQL) ORDER BY \(orderParts.joined(separator: ", ")) LIMIT ? OFFSET ?
                """
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(
                whereArguments + orderArguments + [query.limit.databaseValue, query.offset.databaseValue]))
            for row in rows {
                var related: [(linkType: String, objects: [JSONValue])] = []
                for linkType in query.includeRelated {
                    related.append((linkType, try relatedObjects(of: row["id"], linkType: linkType, org: org, scope: scope, db: db)))
                }
                result.items.append(DataQueryResult.item(compactObject(row), related: related))
            }
        }
        if let aggregate = query.aggregate {
            if let groupBy = query.groupBy {
                let grouped = groupedAggregate(aggregate, groupBy: groupBy, selection: selection)
                let rows = try Row.fetchAll(db, sql: grouped.sql, arguments: StatementArguments(
                    grouped.arguments + [(DataQuery.maxGroupCount + 1).databaseValue]))
                result.groups = rows.map { row in
                    DataQueryResult.Group(keyJSON: row["k"], value: Double.fromDatabaseValue(row["v"]), count: row["n"])
                }
                result.total = rows.first.map { $0["t"] as Int } ?? 0
            } else {
                let expression = aggregateExpression(aggregate)
                let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, \(expression.sql) AS v FROM objects o WHERE \(whereSQL)",
                                           arguments: StatementArguments(expression.arguments + whereArguments))
                result.total = row.map { $0["n"] as Int } ?? 0
                result.aggregateValue = row.flatMap { Double.fromDatabaseValue($0["v"]) }
            }
            counted = true
        }
        if !counted {
            result.total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects o WHERE \(whereSQL)",
                                            arguments: StatementArguments(whereArguments)) ?? 0
        }
        return result.json(for: query)
    }

    /// A grouped aggregate's value per object (`aj`, from the object's columns or, for a custom
    /// path, the path's JSON text taken with one parse of `custom_properties`) and the aggregate
    /// expression over `aj`, with the same meaning as `aggregateExpression`.
    static func aggregateInput(_ aggregate: DataQuery.Aggregate) -> (input: Fragment, expression: String) {
        let input: Fragment
        let expression: String
        switch (aggregate.kind, aggregate.field) {
        case (.count, nil):
            input = Fragment("NULL")
            expression = "COUNT(*)"
        case (.count, .custom(let path)?):
            input = Fragment("o.custom_properties -> ?", [jsonPath(path)])
            expression = "TOTAL(CASE WHEN COALESCE(json_type(aj) NOT IN ('null'), 0) THEN 1 ELSE 0 END)"
        case (.count, let field?):
            input = Fragment(column(field))
            expression = "TOTAL(CASE WHEN aj IS NOT NULL THEN 1 ELSE 0 END)"
        case (_, .custom(let path)?):
            input = Fragment("o.custom_properties -> ?", [jsonPath(path)])
            let function = switch aggregate.kind {
            case .sum: "TOTAL"
            case .avg: "AVG"
            case .min: "MIN"
            default: "MAX"
            }
            expression = "\(function)(CASE WHEN json_type(aj) IN ('integer', 'real') THEN json_extract(aj, '$') END)"
        case (_, let field?):
            input = Fragment(column(field))
            expression = "\(aggregate.kind == .min ? "MIN" : "MAX")(purser_instant(aj))"
        case (_, nil):
            // Parsing requires a field for every aggregate but count.
            input = Fragment("NULL")
            expression = "NULL"
        }
        return (input, expression)
    }

    /// A grouped aggregate as one statement: rows `k` (the group's JSON key), `v`, `n` (objects
    /// in the group) and `t` (objects in all groups, the query's total).
    ///
    /// Each object's JSON is parsed once per field involved, in a materialized first step that
    /// keeps only the field's JSON text (`->`); the grouping, ordering and aggregate then work on
    /// those short texts. Written directly over the object, SQLite (3.40) parses the whole
    /// `custom_properties` once per JSON function call, five times per object, and carries the
    /// whole text through the grouping's sort: measured about 1.2 to 1.4 times slower.
    static func groupedAggregate(_ aggregate: DataQuery.Aggregate, groupBy: DataQuery.Field, selection: Fragment) -> Fragment {
        // The group key: JSON text (or NULL for missing and JSON null) and its sort value.
        let keyValue: Fragment
        let key: String
        let order: String
        switch groupBy {
        case .custom(let path):
            keyValue = Fragment("o.custom_properties -> ?", [jsonPath(path)])
            key = "CASE WHEN kj = 'null' THEN NULL ELSE kj END"
            order = "purser_sort_value(json_extract(kj, '$'))"
        default:
            keyValue = Fragment(column(groupBy))
            key = "json_quote(kj)"
            order = groupBy.isInstant ? "purser_instant(kj)" : "kj"
        }
        let (input, expression) = aggregateInput(aggregate)
        return Fragment("""
            WITH r AS MATERIALIZED (SELECT \(keyValue.sql) AS kj, \(input.sql) AS aj FROM objects o WHERE \(selection.sql))
            SELECT \(key) AS k, \(expression) AS v, COUNT(*) AS n, SUM(COUNT(*)) OVER () AS t FROM r
            GROUP BY k ORDER BY MIN(\(order)), k LIMIT ?
            """, keyValue.arguments + input.arguments + selection.arguments)
    }

    /// Objects linked to `id` by a link of `linkType` in either direction, or linked at all and
    /// of type `linkType` (or `crm_<linkType>`), so `"contact"` finds a booking's contact
    /// whichever way and under whichever link type the link was recorded.
    static func relatedObjects(of id: String, linkType: String, org: OrgID, scope: RowScope = .organization, db: Database) throws -> [JSONValue] {
        let visible = visibility(scope)
        let sql = """
            SELECT DISTINCT o.id, o.type, o.subtype, o.name, o.status, o.custom_properties, o.created_at, o.updated_at
            FROM links lk JOIN objects o ON o.org = lk.org AND o.id = CASE WHEN lk.from_id = ? THEN lk.to_id ELSE lk.from_id END
            WHERE lk.org = ? AND o.org = ? AND (lk.from_id = ? OR lk.to_id = ?) AND o.deleted = 0
              AND (lk.link_type = ? OR o.type = ? OR o.type = 'crm_' || ?)\(visible.map { " AND " + $0.sql } ?? "")
            ORDER BY o.id LIMIT ?
            """
        let arguments: [DatabaseValue] = [id.databaseValue, org.databaseValue, org.databaseValue, id.databaseValue, id.databaseValue,
                                          linkType.databaseValue, linkType.databaseValue, linkType.databaseValue]
            + (visible?.arguments ?? []) + [DataQuery.maxRelatedPerItemObjects.databaseValue]
        let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
        return rows.map(compactObject)
    }

    static func compactObject(_ row: Row) -> JSONValue {
        compactObject(id: row["id"], type: row["type"], subtype: row["subtype"], name: row["name"], status: row["status"],
                      properties: row["custom_properties"], createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    /// An item of a result from the read model's columns, the same whichever database held them.
    static func compactObject(id: String, type: String, subtype: String?, name: String?, status: String?, properties: String?,
                              createdAt: String?, updatedAt: String?) -> JSONValue {
        var members: [String: JSONValue] = ["id": .string(id), "type": .string(type)]
        for (key, value) in [("subtype", subtype), ("name", name), ("status", status), ("createdAt", createdAt), ("updatedAt", updatedAt)] {
            if let value { members[key] = .string(value) }
        }
        members["customProperties"] = (try? JSONValue(parsing: properties ?? "{}")) ?? .emptyObject
        return trimmed(.object(members))
    }

    /// Cuts strings longer than `maxStringLengthCharacters` and says how much was cut, so the
    /// model knows the text goes on rather than taking the cut for the whole.
    public static func trimmed(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text):
            let limit = DataQuery.maxStringLengthCharacters
            guard text.count > limit else { return value }
            return .string(String(text.prefix(limit)) + "…[trimmed \(text.count - limit) chars]")
        case .array(let elements): return .array(elements.map(trimmed))
        case .object(let members): return .object(members.mapValues(trimmed))
        default: return value
        }
    }
}
