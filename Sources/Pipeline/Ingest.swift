import Channels
import Foundation
import PurserCore
import PurserDomain

/// Counts of one ingest run.
public struct IngestSummary: Sendable, Hashable {
    public var outcomes: [TurnOutcome.Kind: Int] = [:]
    public init() {}
    public var total: Int { outcomes.values.reduce(0, +) }
    public func count(_ kind: TurnOutcome.Kind) -> Int { outcomes[kind, default: 0] }
}

/// Feeds what a channel adapter reads into the pipeline: messages are processed concurrently
/// (in order within each conversation), everything else is kept as `message.rejected`.
///
/// Input is pulled one item at a time, and only while fewer than `inFlightMax` messages are in
/// flight, so a large file or a fast pipe never piles up in memory. Reads block, so they run on
/// a dispatch queue of their own rather than on the cooperative thread pool.
public struct Ingestor: Sendable {
    /// Messages processed at once by one ingest (each mostly waits on the model).
    public static let inFlightDefault = 512

    public let pipeline: Pipeline
    public let inFlightMax: Int
    /// The org a delivery status may touch, when the input's sender is an org rather than the
    /// operator (a webhook verified with one org's secret): a status is matched only against
    /// that org's sent messages. Unset (the CLI), a status is matched in any org.
    public var statusOrg: (@Sendable (StatusUpdate) -> String?)?

    public init(pipeline: Pipeline, inFlightMax: Int = Ingestor.inFlightDefault,
                statusOrg: (@Sendable (StatusUpdate) -> String?)? = nil) {
        precondition(inFlightMax > 0, "at least one message must be allowed in flight")
        self.pipeline = pipeline
        self.inFlightMax = inFlightMax
        self.statusOrg = statusOrg
    }

    /// Reads `reader` to its end; `emit` gets each outcome as it is known (not in input order: a
    /// slow conversation does not hold back the others — the outcome's `source` names the input).
    public func run(_ reader: InboundReader, emit: @escaping @Sendable (TurnOutcome) -> Void) async -> IngestSummary {
        let box = ReaderBox(reader)
        let queue = DispatchQueue(label: "purser.ingest.reader")
        return await run(format: box.format, sourceName: reader.sourceName, next: {
            await withCheckedContinuation { continuation in
                queue.async { continuation.resume(returning: box.next()) }
            }
        }, emit: emit)
    }

    /// Processes items already read and checked (a webhook body, verified for exactly these
    /// items), in order.
    public func run(items: [InboundOutcome], format: String?, sourceName: String,
                    emit: @escaping @Sendable (TurnOutcome) -> Void) async -> IngestSummary {
        let remaining = Locked(items[...])
        return await run(format: format, sourceName: sourceName, next: {
            .success(remaining.withLock { $0.popFirst() })
        }, emit: emit)
    }

    private func run(format: String?, sourceName: String, next read: @Sendable () async -> Result<InboundOutcome?, ChannelError>,
                     emit: @escaping @Sendable (TurnOutcome) -> Void) async -> IngestSummary {
        var summary = IngestSummary()
        await withTaskGroup(of: TurnOutcome.self) { group in
            var inFlight = 0
            func record(_ outcome: TurnOutcome) {
                summary.outcomes[outcome.kind, default: 0] += 1
                emit(outcome)
            }
            while true {
                let next = await read()
                let item: InboundOutcome
                switch next {
                case .success(nil):
                    break
                case .success(let some?):
                    item = some
                    switch item {
                    case .message(let message, let position):
                        switch Inbound.from(message, source: position.description, now: pipeline.clock()) {
                        case .success(let inbound):
                            let admission = await pipeline.admit(inbound)
                            group.addTask { await pipeline.run(admission) }
                            inFlight += 1
                        case .failure(let error):
                            record(await pipeline.recordRejected(
                                MessageRejected(code: "invalid_address", reason: error.message, source: position.source, lineNumber: position.line,
                                                format: format, channel: message.channel,
                                                raw: Data(message.text.utf8)),
                                source: position.description))
                        }
                    case .status(let status, let position):
                        let raw = (try? JSONEncoder().encode(status)) ?? Data()
                        record(await pipeline.recordStatus(channel: status.channel, externalId: status.externalMessageId, status: status.status,
                                                           error: status.errorMessage, raw: raw, source: position.description,
                                                           lineNumber: position.line, format: format,
                                                           restrictedTo: statusOrg.map { .some($0(status)) } ?? .none))
                    case .rejected(let rejection):
                        record(await pipeline.recordRejected(
                            MessageRejected(code: rejection.code.rawValue, reason: rejection.reason, source: rejection.position.source,
                                            lineNumber: rejection.position.line, format: format,
                                            channel: rejection.channel, raw: rejection.raw),
                            source: rejection.position.description))
                    }
                    while inFlight >= inFlightMax, let done = await group.next() {
                        inFlight -= 1
                        record(done)
                    }
                    continue
                case .failure(let error):
                    // The input itself failed (an unreadable file): nothing more can be read from it.
                    record(TurnOutcome(.failed, reason: "\(error)", source: sourceName))
                }
                break
            }
            while let done = await group.next() {
                record(done)
            }
        }
        return summary
    }
}

/// The reader, used from the reader queue only, one call at a time.
private final class ReaderBox: @unchecked Sendable {
    let reader: InboundReader

    init(_ reader: InboundReader) {
        self.reader = reader
    }

    func next() -> Result<InboundOutcome?, ChannelError> {
        do {
            return .success(try reader.next())
        } catch {
            return .failure(error)
        }
    }

    var format: String? { (reader.detectedFormat ?? reader.requestedFormat).rawValue }
}
