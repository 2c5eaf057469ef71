import ArgumentParser
import Channels
import Foundation
import Pipeline

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process inbound messages through the agents; one JSON line per outcome on stdout.",
        discussion: """
        Reads normalized JSON Lines, WhatsApp Cloud API webhook bodies, Twilio form bodies, .eml or mbox
        files, or webchat JSON (--format auto detects which) from FILEs or standard input, streamed. Each
        message goes through its org's agent; each outcome is printed as it is known:
        {"outcome":"sent|drafted|held|handed_off|blocked|rejected|unrouted|duplicate|failed","source":"FILE:LINE",
        "org","agentId","sessionId","messageId","reply","replyId","approvalId","reason"}.
        Invalid input is reported on stderr with its position and kept as message.rejected with its raw
        bytes; the rest still goes through. A message fed again (same channel and message id) is a
        duplicate and is not answered twice. Exit status: 0, 2 if any input was rejected, 1 if any
        message failed (it can be fed again).
        The model: OPENROUTER_API_KEY, or PURSER_LLM_BASE_URL (+ PURSER_LLM_API_KEY) for any
        OpenAI-compatible server; without either the offline provider answers from the FAQ.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Input format: \(InputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: String = "auto"
    @Option(help: "Messages processed at once.")
    var inFlight: Int = Ingestor.inFlightDefault
    @Argument(help: ArgumentHelp("Input files; - or nothing for standard input.", valueName: "FILE"))
    var files: [String] = []

    func validate() throws {
        guard InputFormat(rawValue: format) != nil else {
            throw ValidationError("unknown --format \(format); use one of \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard inFlight > 0 else { throw ValidationError("--in-flight must be at least 1") }
        for file in files where file != "-" && !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("cannot read \(file)")
        }
    }

    func run() async throws {
        try await Engine.run(global, database) { runtime in
            let ingestor = Ingestor(pipeline: runtime.engine, inFlightMax: inFlight)
            var total = IngestSummary()
            for file in files.isEmpty ? ["-"] : files {
                let handle: FileHandle
                if file == "-" {
                    handle = FileHandle.standardInput
                } else {
                    guard let opened = FileHandle(forReadingAtPath: file) else { throw ValidationError("cannot open \(file)") }
                    handle = opened
                }
                let reader = InboundReader(fileHandle: handle, sourceName: file == "-" ? "stdin" : file, format: InputFormat(rawValue: format) ?? .auto)
                let summary = await ingestor.run(reader) { outcome in
                    if outcome.kind == .rejected || outcome.kind == .failed {
                        Output.note("\(outcome.source ?? file): \(outcome.kind.rawValue): \(outcome.reason ?? "")")
                    }
                    emit(outcome)
                }
                for (kind, count) in summary.outcomes { total.outcomes[kind, default: 0] += count }
            }
            let parts = TurnOutcome.Kind.allCases.compactMap { kind in total.count(kind) > 0 ? "\(total.count(kind)) \(kind.rawValue)" : nil }
            Output.note("ingested \(total.total) input(s): \(parts.isEmpty ? "nothing" : parts.joined(separator: ", "))")
            if total.count(.failed) > 0 { throw Exit.failure }
            if total.count(.rejected) > 0 { throw Exit.invalidInput }
        }
    }
}
