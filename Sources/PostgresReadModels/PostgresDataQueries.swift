import Logging
import PostgresNIO
import PostgresStore
import PurserCore
import PurserDomain
import Tools

/// `data_query_tool` on PostgreSQL: the crm model there, caught up with the org before each
/// query (so a query sees what the turn before it wrote, whichever node wrote it), then asked
/// through `PostgresDataQueryEngine`.
public struct PostgresDataQueries: DataQueryRunning, SQLTextRows {
    public let model: PostgresReadModel

    public init(model: PostgresReadModel) {
        self.model = model
    }

    public func run(_ query: DataQuery, org: OrgID, scope: RowScope) async throws(ToolError) -> JSONValue {
        do {
            try await model.catchUp(org: org)
        } catch {
            throw ToolError(.readModelFailed, "the CRM read model could not be read; try again later", cause: error)
        }
        return try await PostgresDataQueryEngine(database: self).run(query, org: org, scope: scope)
    }

    /// Runs `statement` against the live schema; every column comes back as text or NULL.
    public func rows(_ statement: SQLStatement) async throws -> [[String?]] {
        let store = model.store
        return try await model.withLiveSchema { schema in
            let sql = statement.sql.replacingOccurrences(of: "{crm}", with: schema)
            var binds = PostgresBindings()
            for argument in statement.arguments {
                switch argument {
                case .text(let value): binds.append(value)
                case .integer(let value): binds.append(value)
                case .double(let value): binds.append(value)
                case .textArray(let value): binds.append(value)
                }
            }
            let query = PostgresQuery(unsafeSQL: sql, binds: binds)
            return try await store.withRetry("query the crm read model") {
                var out: [[String?]] = []
                for try await row in try await store.client.query(query, logger: model.logger) {
                    let cells = row.makeRandomAccess()
                    var values: [String?] = []
                    values.reserveCapacity(cells.count)
                    for i in 0..<cells.count { values.append(try cells[i].decode(String?.self)) }
                    out.append(values)
                }
                return out
            }
        }
    }
}

/// The read models this build keeps in PostgreSQL, in the order `purser projections status`
/// lists them (every model of `ReadModelCatalog`; each node keeps its SQLite copies beside them).
public enum PostgresReadModelCatalog {
    public static var projectors: [any PostgresProjector] { [PostgresAgentsProjector(), PostgresCRMProjector(), PostgresSessionsProjector(), PostgresSpendProjector(), PostgresAuditProjector(), PostgresOutboxProjector()] }
}

/// What the engine reads in PostgreSQL instead of the node's SQLite files, from the models kept
/// there: the runtime and the tests set the pipeline's options from this one place.
public struct PostgresReaders: Sendable {
    /// `data_query_tool` and staff queries on the crm model.
    public var dataQueries: PostgresDataQueries?
    /// The caps' starting figures, `purser spend` and the dashboard on the spend model.
    public var spend: PostgresSpendQueries?
    /// Delivery reports and `purser outbox` on the outbox model.
    public var outbox: PostgresOutboxQueries?
    /// The agents and the routing table at start, and agent histories, on the agents model.
    public var agents: PostgresAgentsQueries?
    /// Conversations (the turn's session and transcript, webchat visitors, the dashboard) on the sessions model.
    public var sessions: PostgresSessionsQueries?
    /// The activity log and the approvals on the audit model.
    public var audit: PostgresAuditQueries?

    public init(_ models: [PostgresReadModel]) {
        dataQueries = models.first { $0.name == PostgresCRMProjector().name }.map(PostgresDataQueries.init)
        spend = models.first { $0.name == PostgresSpendProjector().name }.map(PostgresSpendQueries.init)
        outbox = models.first { $0.name == PostgresOutboxProjector().name }.map(PostgresOutboxQueries.init)
        agents = models.first { $0.name == PostgresAgentsProjector().name }.map(PostgresAgentsQueries.init)
        sessions = models.first { $0.name == PostgresSessionsProjector().name }.map(PostgresSessionsQueries.init)
        audit = models.first { $0.name == PostgresAuditProjector().name }.map(PostgresAuditQueries.init)
    }
}
