// libFuzzer target: the inbound parsers of `Channels` (scripts/fuzz.sh builds and runs it).
//
// Input: byte 0 picks the `InputFormat` (jsonl, whatsapp, twilio, eml, mbox, webchat, auto,
// modulo their count); the rest is the body as it would arrive from a file or a webhook. Every
// outcome is read, so each message, status and rejection is built and described. A crash, a
// sanitizer report or a hang is a finding; rejections and errors are the expected answers.
import Channels
import Foundation

private let formats = InputFormat.allCases

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let format = formats[Int(bytes[0]) % formats.count]
    let body = Data(bytes[1...])
    let reader = InboundReader(data: body, sourceName: "fuzz", format: format)
    var seen = 0
    do {
        while let outcome = try reader.next() {
            seen &+= String(describing: outcome).utf8.count
        }
    } catch {
        seen &+= String(describing: error).utf8.count
    }
    _ = reader.detectedFormat
    return seen < 0 ? 1 : 0
}
