import PurserCore
import PurserDomain

/// A statement for a database this module does not link (PostgreSQL, run by `PostgresReadModels`):
/// its text with `$1`, `$2`, … placeholders and the values bound to them. `{crm}` stands for the
/// schema that holds the live crm model; whoever runs the statement puts its name there.
public struct SQLStatement: Sendable, Hashable {
    public var sql: String
    public var arguments: [SQLArgument]

    public init(sql: String, arguments: [SQLArgument]) {
        self.sql = sql
        self.arguments = arguments
    }
}

/// A value bound to a placeholder; the statement casts each placeholder to its type.
public enum SQLArgument: Sendable, Hashable {
    case text(String)
    case integer(Int64)
    case double(Double)
    case textArray([String])
}

/// Runs statements whose every column is text or NULL: the whole interface the PostgreSQL query
/// engine needs from its database.
public protocol SQLTextRows: Sendable {
    func rows(_ statement: SQLStatement) async throws -> [[String?]]
}

/// `data_query_tool` over the crm model kept in PostgreSQL, giving exactly the answers
/// `DataQueryEngine` gives over SQLite (docs/POSTGRES.md, "Read models"; the differential suite
/// runs both against one reference).
///
/// The SQLite engine calls Swift functions from its SQL (`purser_fold`, `purser_instant`,
/// `purser_sort_value`); a server cannot. The projector computes what they would have computed
/// once per object instead, with the same Swift code: `folded` (custom properties with every
/// string folded by `TextMatching.fold`), `folded_top` (the folded top-level texts), `instants`
/// (the custom properties' ISO-8601 strings as milliseconds, nothing else) and `created_ms` /
/// `updated_ms`. SQLite's order of values (NULL, numbers, text by bytes, then instants) becomes
/// four sort keys, and every text column and extracted text compares as `COLLATE "C"` (bytes),
/// as SQLite's `BINARY` does.
///
/// As in the SQLite engine, the statement text is made of fixed fragments chosen by the query's
/// validated structure; values, JSON paths, object types and link types are bound, and every
/// statement is restricted to the org of the calling agent's context.
public struct PostgresDataQueryEngine: DataQueryRunning {
    public let database: any SQLTextRows

    public init(database: any SQLTextRows) {
        self.database = database
    }

    public func run(_ query: DataQuery, org: OrgID, scope: RowScope) async throws(ToolError) -> JSONValue {
        do {
            return try await execute(query, org: org, scope: scope)
        } catch let error as ToolError {
            throw error
        } catch {
            throw ToolError(.readModelFailed, "the CRM read model could not be read; try again later", cause: error)
        }
    }

    private func execute(_ query: DataQuery, org: OrgID, scope: RowScope) async throws -> JSONValue {
        var result = DataQueryResult()
        var counted = false
        if query.limit > 0 {
            for row in try await database.rows(Self.page(query, org: org, scope: scope)) {
                guard let id = row[0] else { continue }
                var related: [(linkType: String, objects: [JSONValue])] = []
                for linkType in query.includeRelated {
                    let rows = try await database.rows(Self.related(of: id, linkType: linkType, org: org, scope: scope))
                    related.append((linkType, rows.map(Self.item)))
                }
                result.items.append(DataQueryResult.item(Self.item(row), related: related))
            }
        }
        if let aggregate = query.aggregate {
            if let groupBy = query.groupBy {
                let rows = try await database.rows(Self.grouped(query, aggregate, groupBy: groupBy, org: org, scope: scope))
                result.groups = rows.map { row in
                    DataQueryResult.Group(keyJSON: row[0], value: row[1].flatMap(Double.init), count: row[2].flatMap(Int.init) ?? 0)
                }
                result.total = rows.first.flatMap { $0[3].flatMap(Int.init) } ?? 0
            } else {
                let row = try await database.rows(Self.aggregate(query, aggregate, org: org, scope: scope)).first
                result.total = row.flatMap { $0[0].flatMap(Int.init) } ?? 0
                result.aggregateValue = row.flatMap { $0[1].flatMap(Double.init) }
            }
            counted = true
        }
        if !counted {
            result.total = try await database.rows(Self.count(query, org: org, scope: scope)).first.flatMap { $0[0].flatMap(Int.init) } ?? 0
        }
        return result.json(for: query)
    }

    /// An item from the columns `itemColumns` selects.
    static func item(_ row: [String?]) -> JSONValue {
        DataQueryEngine.compactObject(id: row[0] ?? "", type: row[1] ?? "", subtype: row[2], name: row[3], status: row[4],
                                      properties: row[5], createdAt: row[6], updatedAt: row[7])
    }

    // MARK: Statements

    static let itemColumns = "o.id, o.type, o.subtype, o.name, o.status, o.custom_properties::text, o.created_at, o.updated_at"

    static func page(_ query: DataQuery, org: OrgID, scope: RowScope) -> SQLStatement {
        let b = Binder()
        let selection = selection(query, org: org, scope: scope, b)
        var order: [String] = []
        for key in query.sort {
            for part in sortKeys(key.field, b) {
                order.append(part + (key.descending ? " DESC NULLS LAST" : " ASC NULLS FIRST"))
            }
        }
        order.append("o.id ASC")
        let sql = """
            SELECT \(itemColumns) FROM {crm}.objects o WHERE \(selection)
            ORDER BY \(order.joined(separator: ", ")) LIMIT \(b.integer(Int64(query.limit))) OFFSET \(b.integer(Int64(query.offset)))
            """
        return b.statement(sql)
    }

    static func count(_ query: DataQuery, org: OrgID, scope: RowScope) -> SQLStatement {
        let b = Binder()
        return b.statement("SELECT COUNT(*)::text FROM {crm}.objects o WHERE \(selection(query, org: org, scope: scope, b))")
    }

    static func aggregate(_ query: DataQuery, _ aggregate: DataQuery.Aggregate, org: OrgID, scope: RowScope) -> SQLStatement {
        let b = Binder()
        let expression = aggregateExpression(aggregate, b)
        let selection = selection(query, org: org, scope: scope, b)
        return b.statement("SELECT COUNT(*)::text, (\(expression))::text FROM {crm}.objects o WHERE \(selection)")
    }

    /// Rows `k` (the group's JSON key), `v`, `n` (objects in the group) and `t` (objects in all
    /// groups), ordered as the SQLite engine orders them: by the key's sort value, then its text.
    static func grouped(_ query: DataQuery, _ aggregate: DataQuery.Aggregate, groupBy: DataQuery.Field, org: OrgID,
                        scope: RowScope) -> SQLStatement {
        let b = Binder()
        let keyColumns: String
        let key: String
        let orderColumns: String
        let order: String
        switch groupBy {
        case .custom(let path):
            let p = b.path(path)
            let value = "o.custom_properties #> \(p)"
            keyColumns = "\(value) AS kj, \(sortClass(value, p)) AS kc, \(sortNumber(value, p)) AS kn, \(sortText(value, p)) AS kt, \(sortInstant(p)) AS km"
            key = "CASE WHEN kj = 'null'::jsonb THEN NULL ELSE kj END"
            orderColumns = "MIN(kc) AS o1, MIN(kn) AS o2, MIN(kt) AS o3, MIN(km) AS o4"
            order = "o1, o2, o3, o4, k::text COLLATE \"C\" NULLS FIRST"
        default:
            keyColumns = "\(DataQueryEngine.column(groupBy)) AS kj, \(groupBy.isInstant ? instantColumn(groupBy) : "NULL::bigint") AS km"
            key = "to_jsonb(kj)"
            orderColumns = groupBy.isInstant ? "MIN(km) AS o1" : "MIN(kj) AS o1"
            order = "o1 NULLS FIRST, k::text COLLATE \"C\""
        }
        let (input, expression) = aggregateInput(aggregate, b)
        let selection = selection(query, org: org, scope: scope, b)
        let sql = """
            WITH r AS MATERIALIZED (SELECT \(keyColumns), \(input) AS aj FROM {crm}.objects o WHERE \(selection))
            SELECT k::text, v::text, n::text, t::text FROM (
                SELECT \(key) AS k, \(expression) AS v, COUNT(*) AS n, SUM(COUNT(*)) OVER () AS t, \(orderColumns) FROM r GROUP BY 1) g
            ORDER BY \(order) LIMIT \(b.integer(Int64(DataQuery.maxGroupCount + 1)))
            """
        return b.statement(sql)
    }

    /// Objects linked to `id` (see `DataQueryEngine.relatedObjects`).
    static func related(of id: String, linkType: String, org: OrgID, scope: RowScope) -> SQLStatement {
        let b = Binder()
        let i = b.text(id), o = b.text(org), t = b.text(linkType)
        let visible = visibility(scope, b).map { " AND " + $0 } ?? ""
        let sql = """
            SELECT DISTINCT \(itemColumns)
            FROM {crm}.links lk JOIN {crm}.objects o ON o.org = lk.org AND o.id = CASE WHEN lk.from_id = \(i) THEN lk.to_id ELSE lk.from_id END
            WHERE lk.org = \(o) AND o.org = \(o) AND (lk.from_id = \(i) OR lk.to_id = \(i)) AND NOT o.deleted
              AND (lk.link_type = \(t) OR o.type = \(t) OR o.type = 'crm_' || \(t))\(visible)
            ORDER BY o.id LIMIT \(b.integer(Int64(DataQuery.maxRelatedPerItemObjects)))
            """
        return b.statement(sql)
    }

    // MARK: Fragments

    /// Numbers placeholders as fragments are written; each value is bound once and its
    /// placeholder may be used several times.
    final class Binder {
        var arguments: [SQLArgument] = []

        private func bind(_ argument: SQLArgument, as type: String) -> String {
            arguments.append(argument)
            return "$\(arguments.count)::\(type)"
        }

        func text(_ value: String) -> String { bind(.text(value), as: "text") }
        func integer(_ value: Int64) -> String { bind(.integer(value), as: "bigint") }
        func double(_ value: Double) -> String { bind(.double(value), as: "float8") }
        func path(_ segments: [String]) -> String { bind(.textArray(segments), as: "text[]") }
        func statement(_ sql: String) -> SQLStatement { SQLStatement(sql: sql, arguments: arguments) }
    }

    /// The instant of `createdAt` or `updatedAt` in milliseconds (`purser_instant` of the column).
    static func instantColumn(_ field: DataQuery.Field) -> String {
        switch field {
        case .createdAt: "o.created_ms"
        case .updatedAt: "o.updated_ms"
        // Parsing gives instants to these two top-level fields only.
        default: "NULL::bigint"
        }
    }

    /// The folded text of a top-level text field (`purser_fold` of the column).
    static func foldedColumn(_ field: DataQuery.Field) -> String {
        switch field {
        case .id: "(o.folded_top ->> 'id')"
        case .type: "(o.folded_top ->> 'type')"
        case .subtype: "(o.folded_top ->> 'subtype')"
        case .name: "(o.folded_top ->> 'name')"
        case .status: "(o.folded_top ->> 'status')"
        default: "NULL::text"
        }
    }

    static func selection(_ query: DataQuery, org: OrgID, scope: RowScope, _ b: Binder) -> String {
        var sql = "o.org = \(b.text(org)) AND o.type = \(b.text(query.objectType)) AND NOT o.deleted"
        if let visible = visibility(scope, b) { sql += " AND \(visible)" }
        for filter in query.filters { sql += " AND \(predicate(filter, b))" }
        return sql
    }

    static func visibility(_ scope: RowScope, _ b: Binder) -> String? {
        guard case .customer(let contactId) = scope else { return nil }
        let c = b.text(contactId ?? "\u{1}no-contact")
        return """
            ((o.type = 'crm_contact' AND o.id = \(c)) OR (o.type <> 'crm_contact' AND (\
            EXISTS (SELECT 1 FROM {crm}.links l WHERE l.org = o.org AND ((l.from_id = \(c) AND l.to_id = o.id) OR (l.to_id = \(c) AND l.from_id = o.id))) \
            OR (o.custom_properties -> 'contactId') = to_jsonb(\(c)) \
            OR (COALESCE(jsonb_typeof(o.custom_properties -> 'contactId'), 'null') = 'null' AND NOT EXISTS (SELECT 1 FROM {crm}.links l JOIN {crm}.objects c \
            ON c.org = l.org AND c.type = 'crm_contact' AND c.id = CASE WHEN l.from_id = o.id THEN l.to_id ELSE l.from_id END \
            WHERE l.org = o.org AND (l.from_id = o.id OR l.to_id = o.id))))))
            """
    }

    /// A predicate that is true or false, never NULL, so `NOT` and `OR` behave as the reference does.
    static func predicate(_ filter: DataQuery.Filter, _ b: Binder) -> String {
        switch filter.op {
        case .exists:
            let present = existence(filter.field, b)
            return filter.exists ? present : "NOT \(present)"
        case .neq, .nin:
            return "NOT \(disjunction(filter.field, .eq, filter.operands, b))"
        case .in:
            return disjunction(filter.field, .eq, filter.operands, b)
        default:
            return disjunction(filter.field, filter.op, filter.operands, b)
        }
    }

    static func disjunction(_ field: DataQuery.Field, _ op: DataQuery.Operator, _ operands: [DataQuery.Operand], _ b: Binder) -> String {
        "(" + operands.map { "COALESCE((\(comparison(field, op, $0, b))), false)" }.joined(separator: " OR ") + ")"
    }

    static func existence(_ field: DataQuery.Field, _ b: Binder) -> String {
        if case .custom(let path) = field {
            return "COALESCE(jsonb_typeof(o.custom_properties #> \(b.path(path))) <> 'null', false)"
        }
        return "(\(DataQueryEngine.column(field)) IS NOT NULL)"
    }

    static func comparison(_ field: DataQuery.Field, _ op: DataQuery.Operator, _ operand: DataQuery.Operand, _ b: Binder) -> String {
        let symbol = DataQueryEngine.sqlOperator(op)
        switch field {
        case .custom(let segments):
            let p = b.path(segments)
            let kind = "jsonb_typeof(o.custom_properties #> \(p))"
            let text = "(o.custom_properties #>> \(p))"
            switch (op, operand) {
            case (.contains, .string(let needle)):
                let f = b.text(TextMatching.fold(needle))
                return """
                    CASE \(kind) WHEN 'string' THEN strpos(o.folded #>> \(p), \(f)) > 0 \
                    WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(o.folded #> \(p)) AS e(v) WHERE jsonb_typeof(e.v) = 'string' AND (e.v #>> '{}') = \(f)) \
                    ELSE false END
                    """
            case (.startsWith, .string(let needle)):
                return "\(kind) = 'string' AND strpos(o.folded #>> \(p), \(b.text(TextMatching.fold(needle)))) = 1"
            case (_, .number(let number)):
                return "\(kind) = 'number' AND \(text)::float8 \(symbol) \(b.double(number))"
            case (_, .bool(let flag)):
                return "\(kind) = 'boolean' AND \(text) = \(b.text(flag ? "true" : "false"))"
            case (_, .instant(let instant)):
                return "\(sortInstant(p)) \(symbol) \(b.integer(instant.millisecondsSinceEpoch))"
            case (_, .string(let value)):
                return "\(kind) = 'string' AND \(text) COLLATE \"C\" \(symbol) \(b.text(value))"
            }
        default:
            switch (op, operand) {
            case (.contains, .string(let needle)):
                return "strpos(\(foldedColumn(field)), \(b.text(TextMatching.fold(needle)))) > 0"
            case (.startsWith, .string(let needle)):
                return "strpos(\(foldedColumn(field)), \(b.text(TextMatching.fold(needle)))) = 1"
            case (_, .instant(let instant)):
                return "\(instantColumn(field)) \(symbol) \(b.integer(instant.millisecondsSinceEpoch))"
            case (_, .string(let value)):
                return "\(DataQueryEngine.column(field)) \(symbol) \(b.text(value))"
            default:
                // Parsing gives top-level fields only string or instant operands.
                return "false"
            }
        }
    }

    // SQLite's order of a custom field's value, as four keys: its class (0 missing or null,
    // 1 number or boolean, 2 other text, 3 an ISO-8601 instant), then within the class the number,
    // the text by bytes or the instant. Booleans are 0 and 1, as SQLite's `json_extract` gives
    // them. Arrays and objects sort as text, by PostgreSQL's rendering of them, which is not
    // SQLite's: the one order the two engines do not share, documented in docs/POSTGRES.md.

    static func sortClass(_ value: String, _ p: String) -> String {
        "(CASE jsonb_typeof(\(value)) WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 WHEN 'string' THEN "
            + "(CASE WHEN o.instants #> \(p) IS NULL THEN 2 ELSE 3 END) WHEN 'array' THEN 2 WHEN 'object' THEN 2 ELSE 0 END)"
    }

    static func sortNumber(_ value: String, _ p: String) -> String {
        "(CASE jsonb_typeof(\(value)) WHEN 'number' THEN (o.custom_properties #>> \(p))::float8 "
            + "WHEN 'boolean' THEN (CASE WHEN (o.custom_properties #>> \(p)) = 'true' THEN 1 ELSE 0 END)::float8 END)"
    }

    static func sortText(_ value: String, _ p: String) -> String {
        "(CASE WHEN jsonb_typeof(\(value)) IN ('array', 'object') OR (jsonb_typeof(\(value)) = 'string' AND o.instants #> \(p) IS NULL) "
            + "THEN (o.custom_properties #>> \(p)) END) COLLATE \"C\""
    }

    static func sortInstant(_ p: String) -> String {
        "(o.instants #>> \(p))::bigint"
    }

    /// The keys a field sorts by (`purser_sort_value` in the SQLite engine).
    static func sortKeys(_ field: DataQuery.Field, _ b: Binder) -> [String] {
        switch field {
        case .custom(let path):
            let p = b.path(path)
            let value = "o.custom_properties #> \(p)"
            return [sortClass(value, p), sortNumber(value, p), sortText(value, p), sortInstant(p)]
        case .createdAt, .updatedAt:
            return [instantColumn(field)]
        default:
            return [DataQueryEngine.column(field)]
        }
    }

    static func numericValue(_ p: String) -> String {
        "CASE WHEN jsonb_typeof(o.custom_properties #> \(p)) = 'number' THEN (o.custom_properties #>> \(p))::float8 END"
    }

    /// The ungrouped aggregate, with SQLite's meanings: `TOTAL` (a sum that is 0 over nothing)
    /// for sums and counts, `AVG`, `MIN` and `MAX` NULL over nothing.
    static func aggregateExpression(_ aggregate: DataQuery.Aggregate, _ b: Binder) -> String {
        switch (aggregate.kind, aggregate.field) {
        case (.count, nil):
            return "COUNT(*)::float8"
        case (.count, let field?):
            return "COALESCE(SUM(CASE WHEN \(existence(field, b)) THEN 1 ELSE 0 END), 0)::float8"
        case (_, .custom(let path)?):
            let value = numericValue(b.path(path))
            switch aggregate.kind {
            case .sum: return "COALESCE(SUM(\(value)), 0)"
            case .avg: return "AVG(\(value))"
            case .min: return "MIN(\(value))"
            default: return "MAX(\(value))"
            }
        case (_, let field?):
            return "\(aggregate.kind == .min ? "MIN" : "MAX")(\(instantColumn(field)))::float8"
        case (_, nil):
            // Parsing requires a field for every aggregate but count.
            return "NULL::float8"
        }
    }

    /// A grouped aggregate's value per object (`aj`) and the aggregate over it.
    static func aggregateInput(_ aggregate: DataQuery.Aggregate, _ b: Binder) -> (input: String, expression: String) {
        switch (aggregate.kind, aggregate.field) {
        case (.count, nil):
            return ("NULL::jsonb", "COUNT(*)::float8")
        case (.count, .custom(let path)?):
            return ("o.custom_properties #> \(b.path(path))",
                    "COALESCE(SUM(CASE WHEN COALESCE(jsonb_typeof(aj) <> 'null', false) THEN 1 ELSE 0 END), 0)::float8")
        case (.count, let field?):
            return (DataQueryEngine.column(field), "COALESCE(SUM(CASE WHEN aj IS NOT NULL THEN 1 ELSE 0 END), 0)::float8")
        case (_, .custom(let path)?):
            let value = "CASE WHEN jsonb_typeof(aj) = 'number' THEN (aj #>> '{}')::float8 END"
            let expression = switch aggregate.kind {
            case .sum: "COALESCE(SUM(\(value)), 0)"
            case .avg: "AVG(\(value))"
            case .min: "MIN(\(value))"
            default: "MAX(\(value))"
            }
            return ("o.custom_properties #> \(b.path(path))", expression)
        case (_, let field?):
            return (instantColumn(field), "\(aggregate.kind == .min ? "MIN" : "MAX")(aj)::float8")
        case (_, nil):
            return ("NULL::jsonb", "NULL::float8")
        }
    }
}
