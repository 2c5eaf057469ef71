import Channels
import Foundation
import PurserCore
import Testing

@Suite struct JSONLinesTests {
    static let good1 = #"{"channel": "whatsapp", "to": "+4939771234567", "from": "+491701234567", "text": "Was kostet der SBF Binnen?", "externalMessageId": "wamid.1", "receivedAt": "2026-11-25T10:00:00Z", "contactName": "Max Mustermann"}"#
    static let bad = #"{"channel": "whatsapp", "to": "+4939771234567", "from": "+49170"#
    static let good2 = #"{"channel": "email", "to": "info@segelschule.de", "from": "lisa@example.de", "text": "Danke!", "receivedAt": "2026-11-25T11:30:00.250+01:00"}"#

    @Test(arguments: [1, 3, 7, 64, 65536])
    func badLineInTheMiddle(_ chunkBytes: Int) throws {
        let input = [Self.good1, Self.bad, Self.good2].joined(separator: "\n") + "\n"
        let reader = InboundReader(source: DataSource(input, chunkBytes: chunkBytes), sourceName: "in.jsonl")
        let outcomes = try reader.readAll()
        #expect(reader.detectedFormat == .jsonl)
        #expect(outcomes.count == 3)
        let first = try #require(outcomes[0].message)
        #expect(first == InboundMessage(channel: .whatsapp, to: "+4939771234567", from: "+491701234567",
                                        text: "Was kostet der SBF Binnen?", externalMessageId: "wamid.1",
                                        receivedAt: Timestamp(iso8601: "2026-11-25T10:00:00Z", rules: .dateTime)?.date,
                                        contactName: "Max Mustermann"))
        let rejection = try #require(outcomes[1].rejection)
        #expect(rejection.position == SourcePosition(source: "in.jsonl", line: 2))
        #expect(rejection.raw == Data(Self.bad.utf8))
        #expect(rejection.code == .invalidJSON)
        #expect(rejection.reason.contains("not valid JSON"))
        let last = try #require(outcomes[2].message)
        #expect(last.channel == .email)
        #expect(last.receivedAt.map { Timestamp($0).iso8601 } == "2026-11-25T10:30:00.250Z")
        #expect(outcomes[2].position.line == 3)
    }

    @Test func crlfBlankLinesAndBOM() throws {
        let input = "\u{FEFF}" + Self.good1 + "\r\n\r\n   \r\n" + Self.good2
        let outcomes = InboundReader.outcomes(of: Data(input.utf8), sourceName: "x")
        #expect(outcomes.map(\.position.line) == [1, 4])
        #expect(outcomes.allSatisfy { $0.message != nil })
    }

    @Test(arguments: [
        (#"{"channel": "telegram", "to": "a", "from": "b", "text": "x"}"#, ChannelError.Code.unknownChannel, "telegram"),
        (#"{"to": "a", "from": "b", "text": "x"}"#, .invalidMessage, "`channel` is missing"),
        (#"{"channel": "sms", "to": "", "from": "b", "text": "x"}"#, .invalidMessage, "`to` is empty"),
        (#"{"channel": "sms", "to": "a", "from": "  ", "text": "x"}"#, .invalidMessage, "`from` is empty"),
        (#"{"channel": "sms", "to": "a", "from": "b"}"#, .invalidMessage, "`text` is missing"),
        (#"{"channel": "sms", "to": "a", "from": "b", "text": "  "}"#, .invalidMessage, "`text` is empty"),
        (#"{"channel": "sms", "to": 491, "from": "b", "text": "x"}"#, .invalidMessage, "`to` must be a string, not a number"),
        (#"{"channel": "sms", "to": "a", "from": "b", "text": "x", "receivedAt": "yesterday"}"#, .invalidTimestamp, "ISO-8601"),
        (#"{"channel": "sms", "to": "a", "from": "b", "text": "x", "receivedAt": "2026-11-25T10:00:00"}"#, .invalidTimestamp, "ISO-8601"),
        (#"["channel", "sms"]"#, .invalidMessage, "got an array"),
        ("\"just a string\"", .invalidMessage, "got a string"),
        ("{\"channel\": \"sms\", \"to\": \"a\", \"from\": \"b\", \"text\": \"\u{FFFD}\"}", .invalidMessage, "x"),
    ])
    func validation(_ line: String, _ code: ChannelError.Code, _ mentions: String) {
        let outcome = NormalizedMessageParser.outcome(json: Array(line.utf8), position: SourcePosition(source: "v", line: 9))
        if mentions == "x" {
            #expect(outcome.message != nil)
            return
        }
        let rejection = outcome.rejection
        #expect(rejection?.code == code)
        #expect(rejection?.reason.contains(mentions) == true, "\(rejection?.reason ?? "accepted")")
        #expect(rejection?.raw == Data(line.utf8))
    }

    @Test func everyProblemOfALineIsListed() {
        let line = #"{"channel": "fax", "to": "", "receivedAt": "soon"}"#
        let reason = NormalizedMessageParser.outcome(json: Array(line.utf8), position: SourcePosition(source: "v")).rejection?.reason ?? ""
        for part in ["fax", "`from` is missing", "`text` is missing", "soon"] {
            #expect(reason.contains(part), "\(reason)")
        }
    }

    @Test func sizeLimits() {
        var limits = ChannelLimits()
        limits.messageTextBytesMax = 10
        let line = #"{"channel": "sms", "to": "a", "from": "b", "text": "elf Zeichen"}"#
        let rejection = NormalizedMessageParser.outcome(json: Array(line.utf8), position: SourcePosition(source: "v"), limits: limits).rejection
        #expect(rejection?.code == .tooLarge)
        #expect(rejection?.reason.contains("at most 10") == true)
    }

    /// A line far longer than the limit is rejected without being buffered whole, and the next
    /// line is still read.
    @Test func overlongLineIsSkippedWithBoundedMemory() throws {
        var limits = ChannelLimits()
        limits.lineBytesMax = 1024
        limits.rawBytesKeptMax = 100
        let hugeBytes = 8 << 20
        let source = GeneratedSource(parts: [
            (Array(#"{"channel":"sms","to":"a","from":"b","text":""#.utf8), 1),
            (Array("x".utf8), hugeBytes),
            (Array("\"}\n".utf8), 1),
            (Array((Self.good2 + "\n").utf8), 1),
        ])
        let reader = InboundReader(source: source, sourceName: "big.jsonl", format: .jsonl, limits: limits)
        let outcomes = try reader.readAll()
        #expect(outcomes.count == 2)
        let rejection = try #require(outcomes[0].rejection)
        #expect(rejection.code == .tooLarge)
        #expect(rejection.raw.count == 100)
        #expect(rejection.rawTruncated)
        #expect(rejection.rawByteCount == 45 + hugeBytes + 2)
        #expect(outcomes[1].message?.text == "Danke!")
        #expect(outcomes[1].position.line == 2)
        #expect(source.largestChunk <= 64 << 10)
    }

    /// Reading is nowhere near the pipeline's budget: 20,000 lines well under a few seconds
    /// even in a debug build.
    @Test func throughput() throws {
        let line = Array((Self.good1 + "\n").utf8)
        let count = 20_000
        let reader = InboundReader(source: GeneratedSource(parts: [(line, count)]), sourceName: "bulk.jsonl")
        let start = Date()
        var messages = 0
        while let outcome = try reader.next() { if outcome.message != nil { messages += 1 } }
        let seconds = Date().timeIntervalSince(start)
        #expect(messages == count)
        #expect(seconds < 10, "\(Int(Double(count) / seconds)) lines/s")
    }

    @Test func roundTripThroughJSONEncoder() throws {
        let message = InboundMessage(
            channel: .email, to: "info@segelschule.de", from: "lisa@example.de", text: "Hallo\nzweite Zeile",
            externalMessageId: "m1@example.de", receivedAt: Date(timeIntervalSince1970: 1_764_064_800.5),
            contactName: "Lisa K.", subject: "Re: Kurs", inReplyTo: "m0@x", references: ["m0@x"], threadKey: "m0@x",
            recipients: ["info@segelschule.de"], attachments: [Attachment(kind: "file", fileName: "a.pdf", sizeBytes: 3)])
        let line = try JSONEncoder().encode(message)
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.contains(#""receivedAt":"2025-11-25T10:00:00.500Z""#))
        let parsed = NormalizedMessageParser.outcome(json: Array(line), position: SourcePosition(source: "r")).message
        #expect(parsed == message)
        #expect(try JSONDecoder().decode(InboundMessage.self, from: line) == message)

        // The plain contract fields only: extras are left out when empty.
        let plain = InboundMessage(channel: .sms, to: "+1", from: "+2", text: "x")
        let keys = try JSONValue(parsing: JSONEncoder().encode(plain)).objectValue
        #expect(Set(keys?.keys.map { $0 } ?? []) == ["channel", "to", "from", "text"])
    }

    @Test func webchatBody() {
        let body = """
        {
          "to": "widget-segelschule",
          "from": "visitor-42",
          "text": "Habt ihr noch Plätze frei?"
        }
        """
        let outcomes = InboundReader.outcomes(of: Data(body.utf8), sourceName: "webchat", format: .webchat)
        #expect(outcomes.first?.message?.channel == .webchat)
        #expect(outcomes.first?.message?.text == "Habt ihr noch Plätze frei?")

        let spoof = #"{"channel": "whatsapp", "to": "+49", "from": "+4917", "text": "hi"}"#
        let rejected = InboundReader.outcomes(of: Data(spoof.utf8), sourceName: "webchat", format: .webchat)
        #expect(rejected.first?.rejection?.code == .unknownChannel)

        // Auto-detection reads a pretty-printed webchat body as one document.
        let reader = InboundReader(data: Data(body.utf8), sourceName: "webchat")
        #expect((try? reader.readAll())?.first?.message?.channel == .webchat)
        #expect(reader.detectedFormat == .webchat)
    }

    /// The dialogue utterances have their own shape; converted to normalized lines they all
    /// pass through the JSON Lines reader.
    @Test func dialogueUtterancesConvertToMessages() throws {
        let url = Samples.root.appendingPathComponent("dialogues/inbound_user_utterances.jsonl")
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let lines = LineReader(source: FileHandleSource(handle, name: "utterances"))
        var converted = ""
        var count = 0
        while let line = try lines.nextLine() {
            let object = try JSONValue(parsing: line.bytes)
            let source = try #require(object["source"]?.stringValue)
            // Dialogue ids are strings in some corpora and numbers in others.
            let dialogue = try #require(object["dialogue_id"]?.stringValue ?? object["dialogue_id"]?.intValue.map(String.init))
            let index = try #require(object["utt_idx"]?.intValue)
            let message = InboundMessage(channel: .webchat, to: "webchat:demo", from: "visitor:\(source):\(dialogue)",
                                         text: try #require(object["text"]?.stringValue),
                                         externalMessageId: "\(source):\(dialogue):\(index)")
            converted += String(decoding: try JSONEncoder().encode(message), as: UTF8.self) + "\n"
            count += 1
        }
        #expect(count == 344)
        let outcomes = InboundReader.outcomes(of: Data(converted.utf8), sourceName: "converted.jsonl")
        #expect(outcomes.compactMap(\.message).count == count)
        #expect(Set(outcomes.compactMap(\.message?.externalMessageId)).count == count)
    }
}

/// A source that produces a long input piece by piece without ever holding it, to show that
/// readers stay within their limits.
final class GeneratedSource: ByteChunkSource {
    private var parts: [([UInt8], Int)]
    private(set) var largestChunk = 0

    /// - Parameter parts: each pattern and how many times (or, for one-byte patterns, how many
    ///   bytes) to repeat it.
    init(parts: [([UInt8], Int)]) { self.parts = parts }

    func nextChunk() throws(ChannelError) -> [UInt8]? {
        guard !parts.isEmpty else { return nil }
        let (pattern, remaining) = parts[0]
        let chunkBytes = 32 << 10
        var chunk: [UInt8]
        if pattern.count == 1 {
            let size = min(remaining, chunkBytes)
            chunk = [UInt8](repeating: pattern[0], count: size)
            parts[0].1 -= size
        } else {
            let times = max(1, min(remaining, chunkBytes / max(1, pattern.count)))
            chunk = []
            for _ in 0..<times { chunk += pattern }
            parts[0].1 -= times
        }
        if parts[0].1 <= 0 { parts.removeFirst() }
        largestChunk = max(largestChunk, chunk.count)
        return chunk
    }
}
