import Channels
import Foundation
import Testing

/// The one line reader (`LineReader`), which `ingest`, `log append` and `objects import` share.
@Suite struct LineReaderTests {
    func read(_ text: String, chunkBytes: Int, lineBytesMax: Int = 64) throws -> [[InputLine]] {
        let reader = LineReader(source: DataSource(text, chunkBytes: chunkBytes), lineBytesMax: lineBytesMax)
        var batches: [[InputLine]] = []
        while let batch = try reader.nextLines() { batches.append(batch) }
        return batches
    }

    /// `log append -` acknowledges lines as a pipe delivers them: a batch is what one read
    /// completed, never a wait for the rest of the input.
    @Test func nextLinesHandsOverTheLinesOneChunkCompletedWithoutReadingAhead() throws {
        let batches = try read("a\nb\nc\nd", chunkBytes: 4)
        #expect(batches.map { $0.map { String(decoding: $0.bytes, as: UTF8.self) } } == [["a", "b"], ["c"], ["d"]])
        #expect(batches.flatMap { $0 }.map(\.number) == [1, 2, 3, 4])
    }

    /// The behaviour kept from the two readers: the line keeps its `\r` (the command line's old
    /// reader dropped it), and `bytesWithoutCarriageReturn` gives the content for both line ends.
    @Test func crlfLinesKeepTheirCarriageReturnAndOfferTheContentWithoutIt() throws {
        let lines = try read("one\r\ntwo\nthree\r", chunkBytes: 3).flatMap { $0 }
        #expect(lines.map(\.bytes) == [Array("one\r".utf8), Array("two".utf8), Array("three\r".utf8)])
        #expect(lines.map { Array($0.bytesWithoutCarriageReturn) } == [Array("one".utf8), Array("two".utf8), Array("three".utf8)])
    }

    /// A line over the limit is cut, says its true length, and the lines after it are intact.
    @Test func anOverlongLineIsCutWithItsTrueLengthAndTheNextLineSurvives() throws {
        let long = String(repeating: "x", count: 100) + "\r"
        let lines = try read(long + "\nok\n", chunkBytes: 7, lineBytesMax: 10).flatMap { $0 }
        #expect(lines.count == 2)
        #expect(lines[0].isTruncated && lines[0].bytes.count == 10 && lines[0].byteCount == 101)
        #expect(lines[0].bytesWithoutCarriageReturn.count == 10)
        #expect(lines[1].bytes == Array("ok".utf8) && lines[1].number == 2)
    }
}
