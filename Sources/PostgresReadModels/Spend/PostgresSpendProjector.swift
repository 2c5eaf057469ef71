import Logging
import PostgresNIO
import Projection
import PurserDomain
import SpendProjection

/// The spend model in PostgreSQL: per org, agent and UTC day, the messages, tokens and USD
/// charged (`cost.charged`), the same rows as its SQLite twin (projections/spend), shared by
/// every node so that a cap is checked against what all of them charged.
///
/// The sums are folded in Swift, in event order, from the stored row on: floating-point addition
/// is not associative, and adding a batch's total to the stored figure could differ from the
/// SQLite model, which adds one charge at a time, in the last bits. The rows of a batch are read
/// and written inside the catch-up's transaction, which holds the org's checkpoint row, so no
/// other node changes them in between.
public struct PostgresSpendProjector: PostgresProjector {
    public init() {}

    public var name: String { SpendProjector.name }
    /// 1: first version.
    public var schemaVersion: Int { 1 }
    public var eventTypes: Set<String> { SpendProjector().eventTypes }

    public var schemaStatements: [String] {
        [
            """
            CREATE TABLE {schema}.spend (
                org text COLLATE "C" NOT NULL,
                agent_id text COLLATE "C" NOT NULL,
                day text COLLATE "C" NOT NULL,
                messages bigint NOT NULL,
                tokens bigint NOT NULL,
                usd double precision NOT NULL,
                charges bigint NOT NULL,
                PRIMARY KEY (org, agent_id, day)
            )
            """,
        ]
    }

    /// One charge as `cost.charged` records it.
    struct Charge {
        var agentId: String
        var day: String
        var messages: Int
        var tokens: Int
        var usd: Double
    }

    /// One row's figures while a batch is folded.
    struct Totals {
        var messages = 0
        var tokens = 0
        var usd = 0.0
        var charges = 0
    }

    struct Key: Hashable {
        var agentId: String
        var day: String
    }

    /// The charge one event records, or why it cannot be read (synchronous, apart from the async
    /// `apply`: see `PostgresCRMProjector.change(of:)`).
    static func charge(of event: ProjectedEvent) -> Result<Charge, ProjectionError> {
        do {
            let p = try PayloadFields(event)
            return .success(Charge(agentId: try p.string("agentId"), day: try p.string("day"), messages: try p.int("messages"),
                                   tokens: try p.int("tokens"), usd: try p.double("usd")))
        } catch let error {
            return .failure(error)
        }
    }

    public func apply(_ events: [ProjectedEvent], org: String, schema: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var charges: [Charge] = []
        var skipped = 0
        for event in events {
            switch Self.charge(of: event) {
            case .success(let charge): charges.append(charge)
            case .failure(let error):
                skipped += 1
                logger.warning("read model spend: skipped event #\(event.seq) of org \(org): \(error.message)")
            }
        }
        guard !charges.isEmpty else { return skipped }
        var order: [Key] = []
        var totals: [Key: Totals] = [:]
        for charge in charges {
            let key = Key(agentId: charge.agentId, day: charge.day)
            if totals[key] == nil {
                order.append(key)
                totals[key] = Totals()
            }
        }

        // The stored figures of every row the batch touches, folded on from there.
        var binds = PostgresBindings()
        binds.append(org)
        binds.append(order.map(\.agentId))
        binds.append(order.map(\.day))
        let stored = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT s.agent_id, s.day, s.messages, s.tokens, s.usd, s.charges FROM \(schema).spend s
              JOIN unnest($2::text[], $3::text[]) AS k(agent_id, day) ON s.agent_id = k.agent_id AND s.day = k.day
             WHERE s.org = $1
            """, binds: binds), logger: logger)
        for try await (agent, day, messages, tokens, usd, count) in stored.decode((String, String, Int64, Int64, Double, Int64).self) {
            totals[Key(agentId: agent, day: day)] = Totals(messages: Int(messages), tokens: Int(tokens), usd: usd, charges: Int(count))
        }
        for charge in charges {
            let key = Key(agentId: charge.agentId, day: charge.day)
            totals[key, default: Totals()].messages += charge.messages
            totals[key, default: Totals()].tokens += charge.tokens
            totals[key, default: Totals()].usd += charge.usd
            totals[key, default: Totals()].charges += 1
        }

        var write = PostgresBindings()
        write.append(org)
        write.append(order.map(\.agentId))
        write.append(order.map(\.day))
        write.append(order.map { Int64(totals[$0]!.messages) })
        write.append(order.map { Int64(totals[$0]!.tokens) })
        write.append(order.map { totals[$0]!.usd })
        write.append(order.map { Int64(totals[$0]!.charges) })
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO \(schema).spend (org, agent_id, day, messages, tokens, usd, charges)
            SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::float8[], $7::bigint[])
                AS u(agent_id, day, messages, tokens, usd, charges)
            ON CONFLICT (org, agent_id, day) DO UPDATE SET messages = excluded.messages, tokens = excluded.tokens,
                usd = excluded.usd, charges = excluded.charges
            """, binds: write), logger: logger)
        return skipped
    }
}

/// `SpendReading` on the model in PostgreSQL: the org caught up first, then its rows.
public struct PostgresSpendQueries: SpendReading {
    public let model: PostgresReadModel

    public init(model: PostgresReadModel) {
        precondition(model.name == SpendProjector.name, "PostgresSpendQueries reads the spend model, not \(model.name)")
        self.model = model
    }

    public func spend(org: String, day: String?) async throws -> [SpendRecord] {
        try await model.catchUp(org: org)
        var binds = PostgresBindings.of(org)
        binds.append(day)
        return try await model.rows("read the spend of org \(org)", """
            SELECT agent_id, day, messages, tokens, usd FROM {schema}.spend WHERE org = $1 AND ($2::text IS NULL OR day = $2) ORDER BY day, agent_id
            """, binds) { c in
            SpendRecord(org: org, agentId: try c[0].decode(String.self), day: try c[1].decode(String.self), messages: Int(try c[2].decode(Int64.self)),
                        tokens: Int(try c[3].decode(Int64.self)), usd: try c[4].decode(Double.self))
        }
    }
}
