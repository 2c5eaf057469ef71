import Foundation
import PurserCore
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    @Test("parses and serializes", arguments: [
        (#"{"b": [1, 2.5, -3e2, true, false, null], "a": "x"}"#, #"{"a":"x","b":[1,2.5,-300,true,false,null]}"#),
        (#"  "caf\u00e9 \ud83d\ude00 \n\"/"  "#, #""café 😀 \n\"/""#),
        ("[]", "[]"),
        ("{}", "{}"),
        ("0", "0"),
        ("-0.5", "-0.5"),
        ("1e20", "1e+20"),
        ("\u{FEFF}{\"k\": \"ä\"}", #"{"k":"ä"}"#),
        (#""tab\there\u0001""#, #""tab\there\u0001""#),
    ])
    func parseAndSerialize(input: String, expected: String) throws {
        let value = try JSONValue(parsing: input)
        #expect(value.serialized() == expected)
        #expect(try JSONValue(parsing: value.serialized()) == value)
    }

    @Test("reports where and what is wrong", arguments: [
        (#"{"a": 1,}"#, "column 9", "member name"),
        (#"{"a" 1}"#, "column 6", "expected ':'"),
        ("[1 2]", "column 4", "expected ',' or ']'"),
        (#"{"a": 'x'}"#, "column 7", "expected a value"),
        (#""open"#, "column 1", "not terminated"),
        ("", "column 1", "empty input"),
        (#"{"a": 1} x"#, "column 10", "after the JSON value"),
        ("01", "column 2", "leading zeros"),
        ("tru", "column 1", "expected a value"),
        (#""\x""#, "column 2", "invalid escape"),
        ("1e999", "column 1", "out of range"),
        ("{\"a\": \"line\nbreak\"}", "column 12", "control character"),
    ])
    func syntaxErrors(input: String, column: String, reason: String) {
        let error = #expect(throws: JSONError.self) { try JSONValue(parsing: input) }
        #expect(error?.code == .invalidJSON)
        #expect(error?.message.contains(column) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }

    @Test("refuses invalid UTF-8 and hostile nesting")
    func hostileInput() {
        #expect(throws: JSONError.self) { try JSONValue(parsing: Data([0x22, 0xC3, 0x28, 0x22])) }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let error = #expect(throws: JSONError.self) { try JSONValue(parsing: deep) }
        #expect(error?.message.contains("nesting") == true)
    }

    @Test("agrees with Foundation's JSONDecoder through Codable")
    func codableAgrees() throws {
        let text = #"{"n": 3, "f": 0.7, "b": true, "z": null, "s": "x", "a": [{"k": [false]}]}"#
        let viaParser = try JSONValue(parsing: text)
        let viaDecoder = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(viaParser == viaDecoder)
        #expect(viaParser["b"] == .bool(true))
        #expect(viaParser["n"] == .number(3))
        let reencoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(viaParser))
        #expect(reencoded == viaParser)
    }

    @Test("looks up dotted paths")
    func dottedPaths() throws {
        let value: JSONValue = ["customProperties": ["startsAt": "2026-11-30", "tags": ["a", "b"], "nothing": nil]]
        #expect(value.value(atPath: "customProperties.startsAt") == "2026-11-30")
        #expect(value.value(atPath: "customProperties.tags.1") == "b")
        #expect(value.value(atPath: "customProperties.tags.2") == nil)
        #expect(value.value(atPath: "customProperties.missing") == nil)
        #expect(value.value(atPath: "customProperties.nothing") == .null)
        #expect(value.value(atPath: "customProperties.startsAt.deeper") == nil)
        #expect(value.value(atPath: ["customProperties", "tags"]) == ["a", "b"])
    }

    @Test("typed accessors")
    func accessors() {
        #expect(JSONValue.number(4).intValue == 4)
        #expect(JSONValue.number(4.5).intValue == nil)
        #expect(JSONValue.string("4").intValue == nil)
        #expect(JSONValue.number(4.5).doubleValue == 4.5)
        #expect(JSONValue.bool(true).boolValue == true)
        #expect(JSONValue.null.isNull)
        #expect(JSONValue.array([]).kindName == "array")
        #expect(JSONValue.number(.infinity).serialized() == "null")
    }

    @Test("diffs objects member by member")
    func diff() {
        let before: JSONValue = ["price": 450, "slot": ["day": "Mo", "hour": 9], "note": "x"]
        let after: JSONValue = ["price": 400, "slot": ["day": "Mo", "hour": 10], "extra": true]
        #expect(JSONValue.diff(from: before, to: after) == [
            FieldChange(path: "extra", before: nil, after: true),
            FieldChange(path: "note", before: "x", after: nil),
            FieldChange(path: "price", before: 450, after: 400),
            FieldChange(path: "slot.hour", before: 9, after: 10),
        ])
        #expect(JSONValue.diff(from: "a", to: "a").isEmpty)
        #expect(JSONValue.diff(from: "a", to: "b") == [FieldChange(path: "", before: "a", after: "b")])
    }
}

@Suite("JSONValueDecoder")
struct JSONValueDecoderTests {
    struct Sample: Codable, Equatable {
        var count: Int
        var small: UInt8
        var ratio: Float
        var tags: [String]
        var extra: JSONValue
        var nested: [String: [Int]]
        var maybe: String?
    }

    @Test("decodes plain Codable structs, with JSONValue fields as they are")
    func plainStruct() throws {
        let value: JSONValue = ["count": 3, "small": 255, "ratio": 0.5, "tags": ["a"], "extra": ["x": [1, nil]],
                                "nested": ["k": [1, 2]], "maybe": nil]
        let sample = try JSONValueDecoder().decode(Sample.self, from: value)
        #expect(sample == Sample(count: 3, small: 255, ratio: 0.5, tags: ["a"], extra: ["x": [1, nil]], nested: ["k": [1, 2]], maybe: nil))
        #expect(try JSONValueDecoder().decode(JSONValue.self, from: value) == value)
    }
}
