import Foundation
import GRDB
import PurserCore
import PurserDomain
import Testing
@testable import Tools

/// The SQL path agrees with the reference evaluator on random datasets and random queries, and
/// never sees the rows of the other org stored beside them with the same ids.
@Suite struct DifferentialTests {
    static let now = Timestamp(iso8601: "2026-11-25T14:30:00Z")!
    static let names = ["Lisa K.", "Ömer", "O'Brien", "\"quoted\"", "anna", "Anna", "Zoë", "a%b_c", "x' OR 1=1 --"]
    static let statuses = ["active", "confirmed", "cancelled", "lead"]
    static let courses = ["sailing", "kayak", "sailing-advanced", "SUP"]
    static let tags = ["vip", "VIP", "newsletter", "late", "o'hara"]
    static let cities = ["Kiel", "Berlin", "kiel", "Gdańsk", "MÜNCHEN", "münchen"]
    /// Offsets whose text order differs from their instant order are in here on purpose:
    /// `2026-02-28T23:30:00-01:00` is 00:30Z on March 1st, after `2026-03-01T00:00:00Z`.
    static let instants = [
        "2026-11-01", "2026-11-20T09:00:00Z", "2026-11-20T10:00:00+01:00", "2026-11-24T23:59:59.500Z",
        "2026-11-25T08:00:00Z", "2026-12-01T12:00:00Z", "2025-06-15", "2026-02-28T23:30:00-01:00",
        "2026-03-01T00:00:00Z", "2026-03-01T00:15:00Z", "2026-11-25T01:00:00+03:00", "2026-11-24T20:30:00.250-02:30",
        "not a date",
    ]

    /// `instant` written in the zone `minutes` east of UTC, e.g. `2026-03-01T01:30:00+01:00`.
    static func written(_ instant: Timestamp, offsetMinutes minutes: Int) -> String {
        guard minutes != 0 else { return instant.iso8601 }
        let local = String(instant.adding(milliseconds: Int64(minutes) * 60_000).iso8601.dropLast()) // no "Z"
        let sign = minutes < 0 ? "-" : "+"
        let hours = abs(minutes) / 60, rest = abs(minutes) % 60
        return local + sign + (hours < 10 ? "0" : "") + "\(hours):" + (rest < 10 ? "0" : "") + "\(rest)"
    }

    static func randomObject(_ index: Int, _ rng: inout SeededRandom) -> TestObject {
        var props: [String: JSONValue] = [:]
        if Int.random(in: 0..<4, using: &rng) > 0 { props["price"] = .number(Double(Int.random(in: -5...500, using: &rng))) }
        if Int.random(in: 0..<8, using: &rng) == 0 { props["price"] = .string("12") }
        if Int.random(in: 0..<3, using: &rng) > 0 { props["course"] = .string(courses.randomElement(using: &rng)!) }
        if Int.random(in: 0..<3, using: &rng) > 0 { props["startsAt"] = .string(instants.randomElement(using: &rng)!) }
        if Int.random(in: 0..<2, using: &rng) == 0 {
            props["tags"] = .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in .string(tags.randomElement(using: &rng)!) })
        }
        if Int.random(in: 0..<2, using: &rng) == 0 { props["vip"] = .bool(Bool.random(using: &rng)) }
        if Int.random(in: 0..<6, using: &rng) == 0 { props["note"] = .null }
        if Int.random(in: 0..<2, using: &rng) == 0 {
            props["address"] = ["city": .string(cities.randomElement(using: &rng)!)]
        }
        let created = Timestamp(iso8601: "2026-01-01T00:00:00Z")!.adding(milliseconds: Int64.random(in: 0...(330 * 86_400_000), using: &rng))
        let updated = created.adding(milliseconds: Int64.random(in: 0...86_400_000, using: &rng))
        // Read models may hold timestamps written in any zone; they still sort by instant.
        let offsets = [0, 0, -60, 60, 180, -150, 330]
        return TestObject(
            id: "o\(index)", type: ["crm_contact", "booking"].randomElement(using: &rng)!,
            subtype: [nil, "customer", "lead"].randomElement(using: &rng)!, name: (names.map(Optional.some) + [nil]).randomElement(using: &rng)!,
            status: (statuses.map(Optional.some) + [nil]).randomElement(using: &rng)!, customProperties: .object(props),
            createdAt: written(created, offsetMinutes: offsets.randomElement(using: &rng)!),
            updatedAt: written(updated, offsetMinutes: offsets.randomElement(using: &rng)!),
            deleted: Int.random(in: 0..<10, using: &rng) == 0)
    }

    static let fieldNames = ["id", "type", "subtype", "name", "status", "createdAt", "updatedAt", "customProperties.price",
                             "customProperties.course", "customProperties.startsAt", "customProperties.tags",
                             "customProperties.vip", "customProperties.address.city", "customProperties.note",
                             "customProperties.missing"]

    static func randomValue(for field: String, op: String, _ rng: inout SeededRandom) -> JSONValue {
        if op == "exists" { return .bool(Bool.random(using: &rng)) }
        if op == "contains" || op == "startsWith" {
            return .string(["a", "sail", "vip", "VIP", "Ki", "o'", "2026-11", "\"", "Ö", "ö", "ANN", "zoe", "berlin",
                            "gdansk", "GDAŃSK", "münchen", "MUNCH"].randomElement(using: &rng)!)
        }
        switch field {
        case "createdAt", "updatedAt":
            return Bool.random(using: &rng) ? .string(instants.dropLast().randomElement(using: &rng)!)
                : ["relative": .string(["-7d", "startOfMonth", "startOfWeek", "-6M", "startOfYear"].randomElement(using: &rng)!)]
        case "customProperties.price": return Int.random(in: 0..<5, using: &rng) == 0 ? "12" : .number(Double(Int.random(in: -10...510, using: &rng)))
        case "customProperties.vip": return .bool(Bool.random(using: &rng))
        case "customProperties.startsAt":
            return Bool.random(using: &rng) ? .string(instants.randomElement(using: &rng)!) : ["relative": "-7d"]
        case "customProperties.course": return .string(courses.randomElement(using: &rng)!)
        case "customProperties.address.city": return .string((cities + ["K"]).randomElement(using: &rng)!)
        case "name": return .string(names.randomElement(using: &rng)!)
        case "status": return .string(statuses.randomElement(using: &rng)!)
        case "id": return .string("o\(Int.random(in: 0..<60, using: &rng))")
        default: return .string(["customer", "lead", "booking", "x"].randomElement(using: &rng)!)
        }
    }

    static func randomQuery(_ rng: inout SeededRandom) -> JSONValue {
        var query: [String: JSONValue] = ["objectType": .string(["crm_contact", "booking"].randomElement(using: &rng)!)]
        var filters: [JSONValue] = []
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
            let field = fieldNames.randomElement(using: &rng)!
            let op = DataQuery.Operator.allCases.randomElement(using: &rng)!.rawValue
            var value = randomValue(for: field, op: op, &rng)
            if op == "in" || op == "nin" {
                value = .array((0..<Int.random(in: 1...3, using: &rng)).map { _ in randomValue(for: field, op: "eq", &rng) })
            }
            filters.append(["field": .string(field), "op": .string(op), "value": value])
        }
        query["filters"] = .array(filters)
        let sortable = fieldNames.filter { $0 != "customProperties.tags" && $0 != "customProperties.address.city" }
        query["sort"] = .array((0..<Int.random(in: 0...2, using: &rng)).map { _ in
            ["field": .string(sortable.randomElement(using: &rng)!), "dir": Bool.random(using: &rng) ? "asc" : "desc"]
        })
        query["limit"] = .number(Double(Int.random(in: 0...30, using: &rng)))
        query["offset"] = .number(Double(Int.random(in: 0...10, using: &rng)))
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            let kind = DataQuery.AggregateKind.allCases.randomElement(using: &rng)!
            var aggregate: [String: JSONValue] = ["type": .string(kind.rawValue)]
            switch kind {
            case .count: if Bool.random(using: &rng) { aggregate["field"] = "customProperties.course" }
            case .sum, .avg: aggregate["field"] = "customProperties.price"
            case .min, .max: aggregate["field"] = Bool.random(using: &rng) ? "customProperties.price" : "createdAt"
            }
            query["aggregate"] = .object(aggregate)
            if Bool.random(using: &rng) {
                query["groupBy"] = .string(["status", "customProperties.course", "customProperties.vip", "subtype", "customProperties.price"].randomElement(using: &rng)!)
            }
        default: break
        }
        return .object(query)
    }

    static func close(_ a: Double?, _ b: JSONValue?, instant: Bool) -> Bool {
        switch (a, b) {
        case (nil, .null?), (nil, nil): return true
        case (let x?, .number(let y)?): return abs(x - y) <= 1e-9 * max(1, abs(x))
        case (let x?, .string(let s)?) where instant: return Timestamp(iso8601: s)?.millisecondsSinceEpoch == Int64(x)
        default: return false
        }
    }

    @Test(arguments: 0..<12)
    func sqlAgreesWithReference(seed: Int) throws {
        var rng = SeededRandom(seed: UInt64(seed) &* 7919 &+ 17)
        let count = Int.random(in: 5...60, using: &rng)
        let mine = (0..<count).map { Self.randomObject($0, &rng) }
        // The other org reuses the same ids with different data, so a leak changes the answers.
        let theirs = (0..<(count + 20)).map { Self.randomObject($0, &rng) }
        let store = try CRMStore.make(["org_a": (mine, []), "org_b": (theirs, [])])
        let engine = DataQueryEngine(reader: store)
        let reference = ReferenceEvaluator(objects: mine)
        var checked = 0
        var nonEmpty = 0
        for round in 0..<150 {
            let json = Self.randomQuery(&rng)
            let query: DataQuery
            do {
                query = try DataQuery.parse(json, now: Self.now)
            } catch {
                continue
            }
            checked += 1
            let result = try engine.run(query, org: "org_a")
            let expected = reference.page(query)
            if !expected.ids.isEmpty { nonEmpty += 1 }
            let context = "seed \(seed) round \(round): \(json.serialized())"
            #expect(result["total"]?.intValue == expected.total, "\(context)")
            #expect(result.itemIDs == expected.ids, "\(context)")
            if let aggregate = query.aggregate {
                let instant = aggregate.field?.isInstant ?? false
                if query.groupBy != nil {
                    let groups = result["groups"]?.arrayValue ?? []
                    let want = reference.groups(query)
                    #expect(groups.count == want.count, "\(context)")
                    for (got, exp) in zip(groups, want) {
                        #expect(got["key"] == exp.key, "\(context)")
                        #expect(got["count"]?.intValue == exp.count, "\(context)")
                        #expect(Self.close(exp.value, got["value"], instant: instant), "\(context)")
                    }
                } else {
                    let want = reference.aggregate(aggregate, over: reference.selected(query))
                    #expect(Self.close(want, result["aggregate"]?["value"], instant: instant), "\(context) got \(result["aggregate"]?.serialized() ?? "-")")
                }
            }
        }
        #expect(checked > 50)
        #expect(nonEmpty > 10, "the random queries should not all come back empty")
    }
}
