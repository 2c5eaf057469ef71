import Foundation
import Testing
@testable import PurserDomain

@Suite("JSONValueDecoder")
struct JSONValueDecoderTests {
    @Test("agrees with JSONDecoder on every sample payload", arguments: try Fixtures.everyEvent())
    func agreesWithFoundation(event: DomainEvent) throws {
        let encoded = try EventCatalog.standard.encode(event)
        let viaFoundation = try foundationDecode(event, encoded.data)
        #expect(viaFoundation == event)
    }

    private func foundationDecode(_ event: DomainEvent, _ data: Data) throws -> DomainEvent? {
        func decode<P: EventPayload>(_ payload: P) throws -> P { try JSONDecoder().decode(P.self, from: data) }
        guard let payload = event.payload else { return nil }
        return try EventCatalog.standard.decode(type: event.type, version: event.version,
                                                data: EventCoding.encoder.encode(decode(payload)))
    }

    struct Sample: Codable, Equatable {
        var count: Int
        var small: UInt8
        var ratio: Float
        var tags: [String]
        var extra: JSONValue
        var nested: [String: [Int]]
        var maybe: String?
    }

    @Test("errors name the path", arguments: [
        (#"{"count": 2.5, "small": 1, "ratio": 1, "tags": [], "extra": 1, "nested": {}}"#, "count"),
        (#"{"count": 1, "small": 256, "ratio": 1, "tags": [], "extra": 1, "nested": {}}"#, "small"),
        (#"{"count": 1, "small": 1, "ratio": 1, "tags": ["a", 2], "extra": 1, "nested": {}}"#, "tags[1]"),
        (#"{"count": 1, "small": 1, "ratio": 1, "tags": [], "extra": 1, "nested": {"k": [true]}}"#, "nested.k[0]"),
        (#"{"small": 1, "ratio": 1, "tags": [], "extra": 1, "nested": {}}"#, "count"),
    ])
    func errors(json: String, path: String) throws {
        let value = try JSONValue(parsing: json)
        do {
            _ = try JSONValueDecoder().decode(Sample.self, from: value)
            Issue.record("decoded \(json)")
        } catch {
            #expect(EventCoding.describe(error).contains("\"\(path)\""), "\(EventCoding.describe(error))")
        }
    }
}
