import PurserCore

/// What one data query fetched, whichever database answered it. `json(for:)` is the one place
/// the tool's result takes its shape, so the SQLite and PostgreSQL engines fetch the same pieces
/// and cannot drift apart in how they present them.
struct DataQueryResult {
    /// One group of a grouped aggregate, as fetched (up to `DataQuery.maxGroupCount` + 1, the
    /// extra one telling that there were more).
    struct Group {
        /// The group's key as JSON text; nil for objects without the field.
        var keyJSON: String?
        var value: Double?
        var count: Int
    }

    /// The page, each item already with its related objects (`item(_:related:)`).
    var items: [JSONValue] = []
    var groups: [Group] = []
    var aggregateValue: Double?
    /// Objects matching the query, all pages together.
    var total = 0

    /// `item` with `related` under `"related"`, one member per asked link type.
    static func item(_ item: JSONValue, related: [(linkType: String, objects: [JSONValue])]) -> JSONValue {
        guard !related.isEmpty, case .object(var members) = item else { return item }
        var byType: [String: JSONValue] = [:]
        for (linkType, objects) in related { byType[linkType] = .array(objects) }
        members["related"] = .object(byType)
        return .object(members)
    }

    func json(for query: DataQuery) -> JSONValue {
        var result: [String: JSONValue] = [:]
        result["objectType"] = .string(query.objectType)
        result["limit"] = .number(Double(query.limit))
        result["offset"] = .number(Double(query.offset))
        result["items"] = .array(items)
        if let aggregate = query.aggregate {
            let instantResult = aggregate.field?.isInstant ?? false
            func render(_ number: Double?) -> JSONValue {
                guard let number else { return .null }
                if instantResult { return .string(Timestamp(millisecondsSinceEpoch: Int64(number)).iso8601) }
                return .number(number)
            }
            var aggregateJSON: [String: JSONValue] = ["type": .string(aggregate.kind.rawValue)]
            if let field = aggregate.field { aggregateJSON["field"] = .string(field.description) }
            if let groupBy = query.groupBy {
                var groupsJSON: [JSONValue] = []
                for group in groups.prefix(DataQuery.maxGroupCount) {
                    let key = group.keyJSON.flatMap { try? JSONValue(parsing: $0) } ?? .null
                    var member: [String: JSONValue] = [:]
                    member["key"] = DataQueryEngine.trimmed(key)
                    member["value"] = render(group.value)
                    member["count"] = .number(Double(group.count))
                    groupsJSON.append(.object(member))
                }
                aggregateJSON["groupBy"] = .string(groupBy.description)
                result["groups"] = .array(groupsJSON)
                if groups.count > DataQuery.maxGroupCount { result["groupsTruncated"] = true }
            } else {
                aggregateJSON["value"] = render(aggregateValue)
            }
            result["aggregate"] = .object(aggregateJSON)
        }
        result["total"] = .number(Double(total))
        return .object(result)
    }
}
