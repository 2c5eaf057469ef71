import Channels
import Foundation
import Testing

@Suite struct MboxTests {
    static let mbox = """
    From max@example.de Mon Nov 23 10:00:00 2026
    From: Max <max@example.de>
    To: info@segelschule.de
    Subject: Eins
    Message-ID: <1@example.de>

    Erste Nachricht.
    >From the archive: escaped line.
    >>From deeper quoting.
    From here on this is not a separator (no blank line before it).

    From lisa@example.de Mon Nov 23 11:00:00 2026
    From: Lisa <lisa@example.de>
    To: info@segelschule.de
    Subject: Zwei
    In-Reply-To: <1@example.de>

    Zweite Nachricht.

    From broken Mon Nov 23 12:00:00 2026
    this mail has no headers

    """

    @Test(arguments: [1, 5, 13, 4096])
    func splitsUnescapesAndReportsPositions(_ chunkBytes: Int) throws {
        let splitter = MboxSplitter(source: DataSource(Self.mbox, chunkBytes: chunkBytes))
        var mails: [MboxMessage] = []
        while let mail = try splitter.nextMessage() { mails.append(mail) }
        #expect(mails.count == 3)
        #expect(mails.map(\.line) == [1, 12, 20])
        #expect(mails.map(\.index) == [1, 2, 3])
        #expect(mails[0].envelope == "max@example.de Mon Nov 23 10:00:00 2026")
        let first = String(decoding: mails[0].bytes, as: UTF8.self)
        #expect(first.contains("\nFrom the archive: escaped line.\n"))
        #expect(first.contains("\n>From deeper quoting.\n"))
        #expect(first.contains("\nFrom here on this is not a separator"))
        #expect(first.hasSuffix("(no blank line before it).\n"))
        #expect(!first.contains("From max@example.de"))

        let outcomes = try InboundReader(source: DataSource(Self.mbox, chunkBytes: chunkBytes), sourceName: "box.mbox").readAll()
        #expect(outcomes.count == 3)
        #expect(outcomes[0].message?.text.contains("From the archive: escaped line.") == true)
        #expect(outcomes[1].message?.inReplyTo == "1@example.de")
        let rejection = try #require(outcomes[2].rejection)
        #expect(rejection.position == SourcePosition(source: "box.mbox", line: 20, index: 3))
        #expect(rejection.raw == Data("this mail has no headers\n".utf8))
    }

    @Test func manyMailsStreamWithoutHoldingTheFile() throws {
        let mail = Array("From x@y Mon Nov 23 10:00:00 2026\nFrom: a@b.de\nTo: c@d.de\nSubject: s\n\nHallo.\n\n".utf8)
        let source = GeneratedSource(parts: [(mail, 5000)])
        let reader = InboundReader(source: source, sourceName: "big.mbox")
        var count = 0
        while let outcome = try reader.next() {
            #expect(outcome.message?.text == "Hallo.")
            count += 1
        }
        #expect(count == 5000)
        #expect(reader.detectedFormat == .mbox)
    }

    @Test func oversizedMailIsRejectedAndTheNextOneStillRead() throws {
        var limits = ChannelLimits()
        limits.emailMessageBytesMax = 200
        limits.rawBytesKeptMax = 50
        let big = "From a Mon\nFrom: a@b.de\nTo: c@d.de\n\n" + String(repeating: "long line of text\n", count: 100) + "\n"
        let small = "From b Mon\nFrom: e@f.de\nTo: c@d.de\n\nkurz\n"
        let outcomes = try InboundReader(source: DataSource(big + small, chunkBytes: 64), sourceName: "m", limits: limits).readAll()
        #expect(outcomes.count == 2)
        let rejection = try #require(outcomes[0].rejection)
        #expect(rejection.code == .tooLarge)
        #expect(rejection.raw.count == 50)
        #expect(rejection.rawByteCount > 1800)
        #expect(outcomes[1].message?.text == "kurz")
    }

    @Test func mailWithoutEnvelopeIsOneMessage() throws {
        let text = "\n\nFrom: a@b.de\nTo: c@d.de\n\nbody\n"
        let outcomes = try InboundReader(source: DataSource(text), sourceName: "m", format: .mbox).readAll()
        #expect(outcomes.count == 1)
        #expect(outcomes[0].message?.text == "body")
        #expect(outcomes[0].position.line == 3)
    }
}
