import CRMProjection
import Logging
import PostgresNIO
import Projection
import PurserCore
import PurserDomain

/// The crm read model in PostgreSQL: the same objects, links and identities as its SQLite twin
/// (projections/crm), plus what `data_query_tool` needs precomputed there because the server
/// cannot call Purser's Swift functions (see `PostgresDataQueryEngine`): `folded` and
/// `folded_top` (texts folded by `TextMatching.fold`), `instants` (the custom properties'
/// ISO-8601 strings as milliseconds) and `created_ms` / `updated_ms`.
///
/// Set-based: a batch of events becomes a few statements, not a few per event. Consecutive events
/// of one kind (upserts, deletions, link creations, link deletions) go together into one
/// statement over `json_to_recordset`, until an object or link comes a second time (a statement
/// cannot change one row twice); the runs are applied in event order, so the result is the one
/// the events give applied one by one.
public struct PostgresCRMProjector: PostgresProjector {
    public init() {}

    public var name: String { CRMProjector.name }
    /// 1: first version.
    public var schemaVersion: Int { 1 }
    public var eventTypes: Set<String> { CRMProjector().eventTypes }

    public var schemaStatements: [String] {
        [
            """
            CREATE TABLE {schema}.objects (
                org text COLLATE "C" NOT NULL,
                id text COLLATE "C" NOT NULL,
                type text COLLATE "C" NOT NULL,
                subtype text COLLATE "C",
                name text COLLATE "C",
                status text COLLATE "C",
                custom_properties jsonb NOT NULL,
                folded jsonb NOT NULL,
                folded_top jsonb NOT NULL,
                instants jsonb NOT NULL,
                created_at text COLLATE "C" NOT NULL,
                created_ms bigint,
                created_given boolean NOT NULL,
                updated_at text COLLATE "C" NOT NULL,
                updated_ms bigint,
                deleted boolean NOT NULL DEFAULT false,
                seq bigint NOT NULL,
                PRIMARY KEY (org, id)
            )
            """,
            "CREATE INDEX objects_by_type ON {schema}.objects (org, type, deleted)",
            """
            CREATE TABLE {schema}.links (
                org text COLLATE "C" NOT NULL,
                from_id text COLLATE "C" NOT NULL,
                link_type text COLLATE "C" NOT NULL,
                to_id text COLLATE "C" NOT NULL,
                seq bigint NOT NULL,
                PRIMARY KEY (org, from_id, link_type, to_id)
            )
            """,
            "CREATE INDEX links_by_target ON {schema}.links (org, to_id, link_type)",
            """
            CREATE TABLE {schema}.identities (
                org text COLLATE "C" NOT NULL,
                kind text COLLATE "C" NOT NULL,
                value text COLLATE "C" NOT NULL,
                object_id text COLLATE "C" NOT NULL,
                PRIMARY KEY (org, kind, value, object_id)
            )
            """,
            "CREATE INDEX identities_by_object ON {schema}.identities (org, object_id)",
        ]
    }

    /// One change, as the events give it.
    enum Change {
        case upsert(PostgresCRMRow)
        case delete(id: String, at: String, seq: UInt64)
        case link(ObjectLink, seq: UInt64)
        case unlink(ObjectLink)

        var kind: Int {
            switch self {
            case .upsert: 0
            case .delete: 1
            case .link: 2
            case .unlink: 3
            }
        }

        var key: String {
            switch self {
            case .upsert(let row): row.id
            case .delete(let id, _, _): id
            case .link(let link, _), .unlink(let link): "\(link.from)\u{1}\(link.linkType)\u{1}\(link.to)"
            }
        }
    }

    public func apply(_ events: [ProjectedEvent], org: String, schema: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var changes: [Change] = []
        var skipped = 0
        for event in events {
            switch Self.change(of: event) {
            case .success(let change?): changes.append(change)
            case .success(nil): break
            case .failure(let error) where error.code != .undecodableEvent:
                throw error
            case .failure(let error):
                skipped += 1
                logger.warning("read model crm: skipped event #\(event.seq) of org \(org): \(error.message)")
            }
        }
        try await Self.apply(changes, org: org, schema: schema, on: connection, logger: logger)
        return skipped
    }

    /// The change one event makes, nil for a type this model does not keep, or why it cannot be
    /// decoded. Synchronous and apart from `apply` on purpose: the same `do`/`catch` inside the
    /// async loop crashed the 6.3.1 compiler (its stack-nesting pass).
    static func change(of event: ProjectedEvent) -> Result<Change?, ProjectionError> {
        do {
            switch event.type {
            case ObjectCreated.type:
                let created = try event.decode(ObjectCreated.self)
                return .success(.upsert(PostgresCRMRow(created.object, event)))
            case ObjectUpdated.type:
                let updated = try event.decode(ObjectUpdated.self)
                return .success(.upsert(PostgresCRMRow(updated.object, event)))
            case ObjectDeleted.type:
                let deleted = try event.decode(ObjectDeleted.self)
                return .success(.delete(id: deleted.id, at: event.timestampText, seq: event.seq))
            case LinkCreated.type:
                let created = try event.decode(LinkCreated.self)
                return .success(.link(created.link, seq: event.seq))
            case LinkDeleted.type:
                let deleted = try event.decode(LinkDeleted.self)
                return .success(.unlink(deleted.link))
            default:
                return .success(nil)
            }
        } catch let error {
            return .failure(error)
        }
    }

    /// Writes `rows` as they are (the differential tests give rows written in any zone, as a
    /// read model may hold them).
    public static func write(_ rows: [PostgresCRMRow], links: [ObjectLink], org: String, schema: String, on connection: PostgresConnection,
                             logger: Logger) async throws {
        var changes = rows.map(Change.upsert)
        changes += links.enumerated().map { .link($0.element, seq: UInt64($0.offset + 1)) }
        try await apply(changes, org: org, schema: schema, on: connection, logger: logger)
    }

    static func apply(_ changes: [Change], org: String, schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        var run: [Change] = []
        var keys = Set<String>()
        for change in changes {
            if let first = run.first, first.kind != change.kind || keys.contains(change.key) {
                try await flush(run, org: org, schema: schema, on: connection, logger: logger)
                run.removeAll(keepingCapacity: true)
                keys.removeAll(keepingCapacity: true)
            }
            run.append(change)
            keys.insert(change.key)
        }
        if !run.isEmpty { try await flush(run, org: org, schema: schema, on: connection, logger: logger) }
    }

    /// Runs one set-based statement: `$1` is the org, `$2` the run as a JSON array.
    private static func execute(_ sql: String, _ json: JSONValue, org: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await PostgresJSON.execute(sql, org: org, records: json.arrayValue ?? [json], on: connection, logger: logger)
    }

    private static func flush(_ run: [Change], org: String, schema s: String, on connection: PostgresConnection, logger: Logger) async throws {
        switch run.first?.kind {
        case 0:
            var records: [JSONValue] = []
            var identities: [JSONValue] = []
            for case .upsert(let row) in run {
                records.append(row.record)
                for (kind, value) in row.identities {
                    var identity: [String: JSONValue] = [:]
                    identity["kind"] = .string(kind)
                    identity["value"] = .string(value)
                    identity["object_id"] = .string(row.id)
                    identities.append(.object(identity))
                }
            }
            try await Self.execute("""
                INSERT INTO \(s).objects AS o (org, id, type, subtype, name, status, custom_properties, folded, folded_top, instants,
                                               created_at, created_ms, created_given, updated_at, updated_ms, deleted, seq)
                SELECT $1, u.id, u.type, u.subtype, u.name, u.status, u.cp, u.f, u.ft, u.i, u.ca, u.cms, u.cg, u.ua, u.ums, u.deleted, u.seq
                  FROM json_to_recordset($2::json) AS u(id text, type text, subtype text, name text, status text, cp jsonb, f jsonb, ft jsonb,
                                                        i jsonb, ca text, cms bigint, cg boolean, ua text, ums bigint, deleted boolean, seq bigint)
                ON CONFLICT (org, id) DO UPDATE SET type = excluded.type, subtype = excluded.subtype, name = excluded.name,
                    status = excluded.status, custom_properties = excluded.custom_properties, folded = excluded.folded,
                    folded_top = excluded.folded_top, instants = excluded.instants,
                    created_at = CASE WHEN o.deleted OR excluded.created_given THEN excluded.created_at ELSE o.created_at END,
                    created_ms = CASE WHEN o.deleted OR excluded.created_given THEN excluded.created_ms ELSE o.created_ms END,
                    created_given = excluded.created_given, updated_at = excluded.updated_at, updated_ms = excluded.updated_ms,
                    deleted = excluded.deleted, seq = excluded.seq
                """, .array(records), org: org, on: connection, logger: logger)
            try await Self.execute("""
                DELETE FROM \(s).identities WHERE org = $1 AND object_id IN (SELECT value FROM json_array_elements_text($2::json))
                """, .array(run.map { .string($0.key) }), org: org, on: connection, logger: logger)
            if !identities.isEmpty {
                try await Self.execute("""
                    INSERT INTO \(s).identities (org, kind, value, object_id)
                    SELECT $1, u.kind, u.value, u.object_id FROM json_to_recordset($2::json) AS u(kind text, value text, object_id text)
                    ON CONFLICT DO NOTHING
                    """, .array(identities), org: org, on: connection, logger: logger)
            }
        case 1:
            var records: [JSONValue] = []
            for case .delete(let id, let at, let seq) in run {
                var record: [String: JSONValue] = [:]
                record["id"] = .string(id)
                record["at"] = .string(at)
                record["ms"] = PostgresCRMRow.instant(at)
                record["seq"] = .number(Double(seq))
                records.append(.object(record))
            }
            try await Self.execute("""
                UPDATE \(s).objects o SET deleted = true, updated_at = u.at, updated_ms = u.ms, seq = u.seq
                  FROM json_to_recordset($2::json) AS u(id text, at text, ms bigint, seq bigint) WHERE o.org = $1 AND o.id = u.id
                """, .array(records), org: org, on: connection, logger: logger)
            let ids = JSONValue.array(run.map { .string($0.key) })
            try await Self.execute("DELETE FROM \(s).identities WHERE org = $1 AND object_id IN (SELECT value FROM json_array_elements_text($2::json))", ids, org: org, on: connection, logger: logger)
            try await Self.execute("""
                DELETE FROM \(s).links WHERE org = $1 AND (from_id IN (SELECT value FROM json_array_elements_text($2::json))
                                                        OR to_id IN (SELECT value FROM json_array_elements_text($2::json)))
                """, ids, org: org, on: connection, logger: logger)
        case 2:
            var records: [JSONValue] = []
            for case .link(let link, let seq) in run {
                var record: [String: JSONValue] = [:]
                record["f"] = .string(link.from)
                record["k"] = .string(link.linkType)
                record["t"] = .string(link.to)
                record["seq"] = .number(Double(seq))
                records.append(.object(record))
            }
            try await Self.execute("""
                INSERT INTO \(s).links (org, from_id, link_type, to_id, seq)
                SELECT $1, u.f, u.k, u.t, u.seq FROM json_to_recordset($2::json) AS u(f text, k text, t text, seq bigint)
                ON CONFLICT (org, from_id, link_type, to_id) DO UPDATE SET seq = excluded.seq
                """, .array(records), org: org, on: connection, logger: logger)
        case 3:
            var records: [JSONValue] = []
            for case .unlink(let link) in run {
                var record: [String: JSONValue] = [:]
                record["f"] = .string(link.from)
                record["k"] = .string(link.linkType)
                record["t"] = .string(link.to)
                records.append(.object(record))
            }
            try await Self.execute("""
                DELETE FROM \(s).links l USING json_to_recordset($2::json) AS u(f text, k text, t text)
                 WHERE l.org = $1 AND l.from_id = u.f AND l.link_type = u.k AND l.to_id = u.t
                """, .array(records), org: org, on: connection, logger: logger)
        default:
            break
        }
    }
}

/// One object as the PostgreSQL crm model stores it, with its derived columns.
public struct PostgresCRMRow: Sendable {
    public var id: String
    public var type: String
    public var subtype: String?
    public var name: String?
    public var status: String?
    public var customProperties: JSONValue
    /// The creation time as stored: the object's own, else the event's.
    public var createdAt: String
    /// Whether the object named its creation time (which then replaces the stored one).
    public var createdGiven: Bool
    public var updatedAt: String
    public var deleted: Bool
    public var seq: UInt64

    public init(id: String, type: String, subtype: String?, name: String?, status: String?, customProperties: JSONValue,
                createdAt: String, createdGiven: Bool = true, updatedAt: String, deleted: Bool = false, seq: UInt64) {
        self.id = id
        self.type = type
        self.subtype = subtype
        self.name = name
        self.status = status
        self.customProperties = customProperties
        self.createdAt = createdAt
        self.createdGiven = createdGiven
        self.updatedAt = updatedAt
        self.deleted = deleted
        self.seq = seq
    }

    /// The row an object event gives, with the SQLite model's defaults (the event's time for a
    /// missing `createdAt` or `updatedAt`).
    init(_ object: OntologyObject, _ event: ProjectedEvent) {
        self.init(id: object.id, type: object.type, subtype: object.subtype, name: object.name, status: object.status,
                  customProperties: object.customProperties, createdAt: object.createdAt?.iso8601 ?? event.timestampText,
                  createdGiven: object.createdAt != nil, updatedAt: object.updatedAt?.iso8601 ?? event.timestampText, seq: event.seq)
    }

    var identities: [(String, String)] {
        CRMProjector.identities(of: OntologyObject(id: id, type: type, subtype: subtype, name: name, status: status, customProperties: customProperties))
    }

    /// The row as one element of the `json_to_recordset` the upsert reads.
    var record: JSONValue {
        func text(_ value: String?) -> JSONValue {
            guard let value else { return .null }
            return .string(Self.storable(value))
        }
        func folded(_ value: String) -> JSONValue { .string(Self.storable(TextMatching.fold(value))) }
        let properties = Self.storable(customProperties)
        var top: [String: JSONValue] = [:]
        top["id"] = folded(id)
        top["type"] = folded(type)
        if let subtype { top["subtype"] = folded(subtype) }
        if let name { top["name"] = folded(name) }
        if let status { top["status"] = folded(status) }
        var record: [String: JSONValue] = [:]
        record["id"] = text(id)
        record["type"] = text(type)
        record["subtype"] = text(subtype)
        record["name"] = text(name)
        record["status"] = text(status)
        record["cp"] = properties
        record["f"] = Self.folded(properties)
        record["ft"] = .object(top)
        record["i"] = Self.instants(properties) ?? .emptyObject
        record["ca"] = text(createdAt)
        record["cms"] = Self.instant(createdAt)
        record["cg"] = .bool(createdGiven)
        record["ua"] = text(updatedAt)
        record["ums"] = Self.instant(updatedAt)
        record["deleted"] = .bool(deleted)
        record["seq"] = .number(Double(seq))
        return .object(record)
    }

    /// The instant `text` names in milliseconds (`purser_instant`), or null.
    static func instant(_ text: String) -> JSONValue {
        guard let instant = Timestamp(iso8601: text) else { return .null }
        return .number(Double(instant.millisecondsSinceEpoch))
    }

    /// `value` with every string folded (the same shape, so paths and element types still hold).
    static func folded(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(TextMatching.fold(text))
        case .array(let elements): .array(elements.map(folded))
        case .object(let members): .object(members.mapValues(folded))
        default: value
        }
    }

    /// The strings under object keys that parse as ISO-8601, as milliseconds, at their paths;
    /// nil where there are none. Arrays are left out: a path never reaches into one.
    static func instants(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .string(let text):
            guard let instant = Timestamp(iso8601: text) else { return nil }
            return .number(Double(instant.millisecondsSinceEpoch))
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, member) in members {
                if let found = instants(member) { out[key] = found }
            }
            return out.isEmpty ? nil : .object(out)
        default:
            return nil
        }
    }

    /// PostgreSQL's text and `jsonb` cannot hold U+0000 (`PostgresJSON.storable`).
    static func storable(_ text: String) -> String {
        PostgresJSON.storable(text)
    }

    static func storableMembers(_ members: [String: JSONValue]) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (key, value) in members { out[storable(key)] = storable(value) }
        return out
    }

    static func storable(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(storable(text))
        case .array(let elements): .array(elements.map(storable))
        case .object(let members):
            .object(storableMembers(members))
        default: value
        }
    }
}
