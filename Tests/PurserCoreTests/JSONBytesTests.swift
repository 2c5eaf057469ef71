import PurserCore
import Testing

@Suite struct JSONBytesTests {
    @Test func validatingMembersDecodeKeysAndLocateValues() throws {
        let bytes = Array(#"{"a":1, "b\u0061":"x\"y", "c":{"d":[1,2]}}"#.utf8)
        let members = try bytes.withUnsafeBytes { try JSONBytes.members(of: $0) }
        #expect(members.map(\.key) == ["a", "ba", "c"])
        let text = members.map { String(decoding: bytes[$0.value], as: UTF8.self) }
        #expect(text == ["1", #""x\"y""#, #"{"d":[1,2]}"#])
        #expect(bytes.withUnsafeBytes { JSONBytes.decodeString($0, members[1].value) } == "x\"y")
    }

    @Test(arguments: ["", "{", #"{"a":}"#, #"{"a":1,}"#, "[1,2", "nul", #""\x""#, "{} x"])
    func invalidIsRefused(_ text: String) {
        #expect(throws: JSONBytes.SyntaxError.self) { try JSONBytes.validate(Array(text.utf8)) }
    }

    @Test func scanFindsTheSameMembersWithoutValidating() throws {
        let bytes = Array(#"{"org":"haff","usd":0.25,"n":-12,"s":"a\nb","o":{"x":"}"}}"#.utf8)
        try bytes.withUnsafeBytes { b in
            let members = try #require(JSONBytes.Scan.members(b))
            #expect(members.count == 5)
            #expect(JSONBytes.Scan.keyEquals(b, members[0].key, "org"))
            #expect(JSONBytes.Scan.string(b, members[0].value) == "haff")
            #expect(JSONBytes.Scan.number(b, members[1].value) == 0.25)
            #expect(JSONBytes.Scan.number(b, members[2].value) == -12)
            #expect(JSONBytes.Scan.string(b, members[3].value) == "a\nb")
            #expect(String(decoding: b[members[4].value], as: UTF8.self) == #"{"x":"}"}"#)
        }
        #expect(Array("[1]".utf8).withUnsafeBytes { JSONBytes.Scan.members($0) } == nil)
    }

    @Test func appendStringEscapesControlCharactersQuotesAndBackslashes() throws {
        var out: [UInt8] = []
        JSONBytes.appendString("a\"b\\c\n\u{1}é", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""a\"b\\c\n\u0001é""#)
        try JSONBytes.validate(out)
    }
}
