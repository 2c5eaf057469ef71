// libFuzzer target: the inbound parsers of `Channels` (scripts/fuzz.sh builds and runs it).
//
// Input: byte 0 picks the `InputFormat` (jsonl, whatsapp, twilio, eml, mbox, webchat, auto,
// modulo their count); the rest is the body as it would arrive from a file or a webhook. Every
// outcome is read, so each message, status and rejection is built and described. A crash, a
// sanitizer report or a hang is a finding; rejections and errors are the expected answers.
import CLibFuzzer
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

// MARK: Entry

// SwiftPM links executables with `--defsym main=FuzzInbound_main`, so libFuzzer's own `main` is not
// used: this is the program's entry, and it hands control to libFuzzer's driver.
@_cdecl("FuzzInbound_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        // libFuzzer may pass no buffer for the empty input.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { empty in
            fuzz(UnsafeRawPointer(data ?? UnsafePointer(empty.baseAddress!)), size)
        }
    }
}
