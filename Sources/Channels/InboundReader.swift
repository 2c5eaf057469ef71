import Foundation

/// Reads one input (a file, standard input, a webhook body) in any `InputFormat` and yields its
/// outcomes one at a time.
///
/// Memory is bounded by the limits, not by the input: JSON Lines, Twilio lines and mbox mails
/// are read one at a time, and only single documents (one mail, one pretty-printed webhook
/// body) are held whole. A bad line, body or mail becomes a `.rejected` outcome and reading
/// goes on; only a failing source throws.
///
/// Not thread-safe: one reader belongs to one task.
public final class InboundReader {
    /// The name put into every `SourcePosition` (file name, `-`, webhook name).
    public let sourceName: String
    public let requestedFormat: InputFormat
    /// The format in use, known after the first call to `next()` (`nil` for unrecognizable or
    /// empty input).
    public private(set) var detectedFormat: InputFormat?

    private let limits: ChannelLimits
    private var source: any ByteChunkSource
    private var state: State = .start
    private var queue: [InboundOutcome] = []
    private var queueIndex = 0

    private enum LineKind {
        case json(NormalizedMessageParser.ChannelPolicy)
        case format(ChannelFormat)
    }

    private enum DocumentKind {
        case json(NormalizedMessageParser.ChannelPolicy)
        case format(ChannelFormat)

        var isMail: Bool {
            if case .format(let format) = self { return format.framing == .document }
            return false
        }
    }

    private enum State {
        case start
        case lines(LineReader, LineKind)
        case document(DocumentKind)
        case mbox(MboxSplitter, ChannelFormat)
        case done
    }

    public init(source: any ByteChunkSource, sourceName: String, format: InputFormat = .auto,
                limits: ChannelLimits = .standard) {
        self.source = source
        self.sourceName = sourceName
        self.requestedFormat = format
        self.limits = limits
    }

    /// Reads from a file handle (a file, a pipe, standard input).
    public convenience init(fileHandle: FileHandle, sourceName: String, format: InputFormat = .auto,
                            limits: ChannelLimits = .standard) {
        self.init(source: FileHandleSource(fileHandle, name: sourceName, chunkBytes: limits.readChunkBytes),
                  sourceName: sourceName, format: format, limits: limits)
    }

    /// Reads bytes already in memory (a webhook body).
    public convenience init(data: Data, sourceName: String, format: InputFormat = .auto,
                            limits: ChannelLimits = .standard) {
        self.init(source: DataSource(data, chunkBytes: limits.readChunkBytes), sourceName: sourceName,
                  format: format, limits: limits)
    }

    /// All outcomes of an in-memory body (webhooks); memory sources cannot fail to read.
    public static func outcomes(of data: Data, sourceName: String, format: InputFormat = .auto,
                                limits: ChannelLimits = .standard) -> [InboundOutcome] {
        let reader = InboundReader(data: data, sourceName: sourceName, format: format, limits: limits)
        var results: [InboundOutcome] = []
        while let outcome = try? reader.next() { results.append(outcome) }
        return results
    }

    /// Reads everything that is left; for inputs known to be small.
    public func readAll() throws(ChannelError) -> [InboundOutcome] {
        var results: [InboundOutcome] = []
        while let outcome = try next() { results.append(outcome) }
        return results
    }

    /// The next outcome, or `nil` when the input is exhausted.
    public func next() throws(ChannelError) -> InboundOutcome? {
        while true {
            if queueIndex < queue.count {
                let outcome = queue[queueIndex]
                queueIndex += 1
                if queueIndex == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    queueIndex = 0
                }
                return outcome
            }
            switch state {
            case .start:
                try begin()
            case .lines(let reader, let kind):
                guard let line = try reader.nextLine() else {
                    state = .done
                    continue
                }
                handle(line, kind: kind)
            case .document(let kind):
                state = .done
                let (bytes, total) = try readRest(max: kind.isMail ? limits.emailMessageBytesMax : limits.webhookBodyBytesMax)
                handleDocument(bytes, total: total, kind: kind)
            case .mbox(let splitter, let format):
                guard let mail = try splitter.nextMessage() else {
                    state = .done
                    continue
                }
                let position = SourcePosition(source: sourceName, line: mail.line, index: mail.index)
                queue.append(contentsOf: format.parse(mail.bytes, mail.byteCount, position, limits))
            case .done:
                return nil
            }
        }
    }

    // MARK: - Format decision

    /// Peeks at the start of the input, decides how to read it and sets up the readers, which
    /// then see the peeked bytes again.
    private func begin() throws(ChannelError) {
        var peeked: [UInt8] = []
        var complete = false
        while true {
            let atLimit = peeked.count >= limits.detectionPeekBytesMax
            if let decision = decide(peeked, complete: complete, atLimit: atLimit) {
                source = ReplaySource(prefix: peeked, rest: source)
                apply(decision, peeked: peeked)
                return
            }
            if let chunk = try source.nextChunk() {
                peeked.append(contentsOf: chunk)
            } else {
                complete = true
            }
        }
    }

    private func decide(_ peeked: [UInt8], complete: Bool, atLimit: Bool) -> FormatDetector.Decision? {
        let final = complete || atLimit
        switch requestedFormat {
        case .auto:
            return FormatDetector.decide(prefix: peeked, complete: complete, atLimit: final)
        case .jsonl:
            return .jsonLines(.required)
        default:
            guard let format = ChannelRegistry.format(requestedFormat) else { return .unknown }
            switch format.framing {
            case .lines, .document, .mailbox:
                return .format(format, .lines)
            case .jsonBodies:
                return FormatDetector.jsonLayout(prefix: peeked, complete: complete, atLimit: final).map { .format(format, $0) }
            case .normalizedJSON:
                return FormatDetector.jsonLayout(prefix: peeked, complete: complete, atLimit: final).map {
                    $0 == .lines ? .jsonLines(.only(format.channel)) : .jsonDocument(.only(format.channel))
                }
            }
        }
    }

    private func apply(_ decision: FormatDetector.Decision, peeked: [UInt8]) {
        detectedFormat = requestedFormat == .auto ? decision.format : requestedFormat
        switch decision {
        case .jsonLines(let policy):
            state = .lines(LineReader(source: source, lineBytesMax: limits.lineBytesMax), .json(policy))
        case .jsonDocument(let policy):
            state = .document(.json(policy))
        case .format(let format, let layout):
            switch format.framing {
            case .jsonBodies where layout == .lines:
                state = .lines(LineReader(source: source, lineBytesMax: limits.webhookBodyBytesMax), .format(format))
            case .jsonBodies, .document:
                state = .document(.format(format))
            case .lines:
                state = .lines(LineReader(source: source, lineBytesMax: limits.lineBytesMax), .format(format))
            case .mailbox:
                state = .mbox(MboxSplitter(source: source, messageBytesMax: limits.emailMessageBytesMax), format)
            case .normalizedJSON where layout == .lines:
                state = .lines(LineReader(source: source, lineBytesMax: limits.lineBytesMax), .json(.only(format.channel)))
            case .normalizedJSON:
                state = .document(.json(.only(format.channel)))
            }
        case .empty:
            state = .done
        case .unknown:
            state = .done
            // Count the whole input for the record, without keeping it.
            var total = 0
            while let chunk = try? source.nextChunk() { total += chunk.count }
            let position = SourcePosition(source: sourceName, line: 1)
            queue.append(.rejected(Rejection(
                position: position, code: .unknownFormat,
                reason: "could not tell the format of \(sourceName): it starts with neither JSON, an mbox `From ` line, a mail header nor a form body; pass --format (\(InputFormat.allCases.filter { $0 != .auto }.map(\.rawValue).joined(separator: ", ")))",
                raw: Data(peeked.prefix(limits.rawBytesKeptMax)), rawByteCount: max(total, min(peeked.count, limits.rawBytesKeptMax)))))
        }
    }

    // MARK: - Items

    private func handle(_ line: InputLine, kind: LineKind) {
        var bytes = line.bytes[...]
        if line.number == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        while let last = bytes.last, last == 0x0D || last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
        let content = bytes.drop(while: { $0 == 0x20 || $0 == 0x09 })
        if content.isEmpty { return }
        if case .format(let format) = kind, format.framing == .lines, content.first == 0x23 { return }
        let position = SourcePosition(source: sourceName, line: line.number)
        let dropped = line.byteCount - line.bytes.count
        switch kind {
        case .json(let policy):
            queue.append(NormalizedMessageParser.outcome(json: Array(content), byteCount: content.count + dropped,
                                                         position: position, policy: policy, limits: limits))
        case .format(let format) where format.framing == .jsonBodies:
            if dropped > 0 {
                queue.append(tooLarge(Array(content), total: line.byteCount, max: limits.webhookBodyBytesMax, position: position, channel: format.channel))
            } else {
                queue.append(contentsOf: format.parse(Array(content), content.count, position, limits))
            }
        case .format(let format):
            queue.append(contentsOf: format.parse(Array(content), content.count + dropped, position, limits))
        }
    }

    private func handleDocument(_ bytes: [UInt8], total: Int, kind: DocumentKind) {
        let position = SourcePosition(source: sourceName, line: 1)
        switch kind {
        case .json(let policy):
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) { return }
            queue.append(NormalizedMessageParser.outcome(json: bytes, byteCount: total, position: position, policy: policy, limits: limits))
        case .format(let format) where format.framing == .jsonBodies:
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) { return }
            if total > bytes.count {
                queue.append(tooLarge(bytes, total: total, max: limits.webhookBodyBytesMax, position: position, channel: format.channel))
            } else {
                queue.append(contentsOf: format.parse(bytes, total, position, limits))
            }
        case .format(let format):
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) { return }
            var itemPosition = position
            itemPosition.index = 1
            queue.append(contentsOf: format.parse(bytes, total, itemPosition, limits))
        }
    }

    private func tooLarge(_ bytes: [UInt8], total: Int, max: Int, position: SourcePosition, channel: Channel?) -> InboundOutcome {
        .rejected(Rejection(position: position, code: .tooLarge,
                            reason: "input is \(total) bytes; at most \(max) are accepted for one body",
                            raw: Data(bytes.prefix(limits.rawBytesKeptMax)), rawByteCount: total, channel: channel))
    }

    /// Reads the rest of the input, keeping at most `max` bytes and counting the others.
    private func readRest(max: Int) throws(ChannelError) -> ([UInt8], Int) {
        var kept: [UInt8] = []
        var total = 0
        while let chunk = try source.nextChunk() {
            total += chunk.count
            if kept.count < max { kept.append(contentsOf: chunk.prefix(max - kept.count)) }
        }
        return (kept, total)
    }
}

