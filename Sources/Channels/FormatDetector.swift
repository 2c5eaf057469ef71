import Foundation
import PurserCore

/// Tells the input formats apart from their first bytes.
///
/// Rules, applied to the first line that is neither blank nor a `#` comment: `{` or `[` is JSON —
/// a channel's format when its JSON detection claims the value (WhatsApp Cloud API webhook
/// bodies), else JSON Lines of normalized messages (or, for a multi-line document, the webchat
/// body); any other line is the first channel format (in `ChannelRegistry` order) whose line
/// detection claims it — an mbox (`From `), a Twilio form body (`Name=value&…`) — else the first
/// whose fallback claims it: an RFC 5322 mail (`Name: value`).
public enum FormatDetector {
    /// How JSON input is laid out.
    enum JSONLayout: Sendable, Hashable {
        /// One JSON value per line.
        case lines
        /// One value spread over many lines (a pretty-printed webhook body).
        case document
    }

    enum Decision: Sendable {
        /// Normalized messages, one per line.
        case jsonLines(NormalizedMessageParser.ChannelPolicy)
        /// One normalized message as a document.
        case jsonDocument(NormalizedMessageParser.ChannelPolicy)
        /// A channel's own format.
        case format(ChannelFormat, JSONLayout)
        case empty
        case unknown

        var format: InputFormat? {
            switch self {
            case .jsonLines: return .jsonl
            case .jsonDocument(let policy):
                guard case .only(let channel) = policy else { return .jsonl }
                return ChannelRegistry.formats.first { $0.channel == channel && $0.framing == .normalizedJSON }?.format ?? .jsonl
            case .format(let format, _): return format.format
            case .empty, .unknown: return nil
            }
        }
    }

    /// The format of an input that begins with `prefix`; `nil` when it matches none.
    /// - Parameter complete: whether `prefix` is the whole input.
    public static func detect(prefix: [UInt8], complete: Bool = true) -> InputFormat? {
        decide(prefix: prefix, complete: complete, atLimit: true)?.format
    }

    private struct Line {
        var bytes: ArraySlice<UInt8>
        var complete: Bool
    }

    /// Significant lines: not blank, not `#` comments; trailing `\r` and leading blanks removed.
    private static func significantLines(_ prefix: [UInt8], complete: Bool, max: Int) -> [Line] {
        var bytes = prefix[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var lines: [Line] = []
        while !bytes.isEmpty, lines.count < max {
            let end = bytes.firstIndex(of: 0x0A)
            var line = bytes[bytes.startIndex..<(end ?? bytes.endIndex)]
            bytes = end.map { bytes[($0 + 1)...] } ?? bytes[bytes.endIndex...]
            while let last = line.last, last == 0x0D || last == 0x20 || last == 0x09 { line = line.dropLast() }
            line = line.drop(while: { $0 == 0x20 || $0 == 0x09 })
            if line.isEmpty || line.first == 0x23 { continue }
            lines.append(Line(bytes: line, complete: end != nil || complete))
        }
        return lines
    }

    /// Decides, or returns `nil` when more bytes are needed (never when `atLimit` or `complete`).
    static func decide(prefix: [UInt8], complete: Bool, atLimit: Bool) -> Decision? {
        let lines = significantLines(prefix, complete: complete, max: 2)
        guard let first = lines.first else {
            if complete { return .empty }
            return atLimit ? .unknown : nil
        }
        let head = first.bytes
        if head.first == 0x7B || head.first == 0x5B {
            if !first.complete && !atLimit { return nil }
            if first.complete, case .value(let value) = JSONSupport.parse(head) {
                return jsonFormat(of: value).map { .format($0, .lines) } ?? .jsonLines(.required)
            }
            // A broken first line followed by a good one is JSON Lines; decide now so a pipe
            // does not wait for more input. A lone `{` or `[` starts a pretty-printed document.
            if head.count > 1, lines.count > 1, lines[1].complete, lines[1].bytes.first == 0x7B,
               case .value(let value) = JSONSupport.parse(lines[1].bytes) {
                return jsonFormat(of: value).map { .format($0, .lines) } ?? .jsonLines(.required)
            }
            if !complete && !atLimit { return nil }
            if complete, case .value(let value) = JSONSupport.parse(prefix) {
                if let format = jsonFormat(of: value) { return .format(format, .document) }
                return .jsonDocument(normalizedDocumentPolicy(value))
            }
            if let format = markedFormat(prefix) { return .format(format, .document) }
            if head.count == 1 { return .jsonDocument(normalizedDocumentPolicy(nil)) }
            return .jsonLines(.required)
        }
        for format in ChannelRegistry.formats {
            if case .line(let matches) = format.detection, matches(head) { return .format(format, .lines) }
        }
        for format in ChannelRegistry.formats {
            if case .fallbackLine(let matches) = format.detection, matches(head) { return .format(format, .lines) }
        }
        if !first.complete && !atLimit { return nil }
        return .unknown
    }

    /// The channel format whose JSON detection claims `value`.
    private static func jsonFormat(of value: JSONValue) -> ChannelFormat? {
        ChannelRegistry.formats.first { format in
            if case .json(let matches, _) = format.detection { return matches(value) }
            return false
        }
    }

    /// The channel format whose marker a JSON document too large or broken to parse contains.
    private static func markedFormat(_ bytes: [UInt8]) -> ChannelFormat? {
        ChannelRegistry.formats.first { format in
            if case .json(_, let marker?) = format.detection { return contains(bytes, Array(marker.utf8)) }
            return false
        }
    }

    /// A single normalized-message document is a channel's webhook body (the webchat's) when its
    /// `channel` is that channel's or absent; a document naming another channel is JSON Lines.
    private static func normalizedDocumentPolicy(_ value: JSONValue?) -> NormalizedMessageParser.ChannelPolicy {
        let bodies = ChannelRegistry.formats.filter { $0.framing == .normalizedJSON }
        if let object = value?.objectValue, let name = object["channel"]?.stringValue {
            return bodies.first { $0.channel.rawValue == name }.map { .only($0.channel) } ?? .required
        }
        return bodies.first.map { .only($0.channel) } ?? .required
    }

    /// Decides between one-value-per-line and one document for an explicitly named JSON format.
    static func jsonLayout(prefix: [UInt8], complete: Bool, atLimit: Bool) -> JSONLayout? {
        let lines = significantLines(prefix, complete: complete, max: 1)
        guard let first = lines.first else { return complete || atLimit ? .lines : nil }
        if !first.complete && !atLimit { return nil }
        if first.complete, case .value = JSONSupport.parse(first.bytes) { return .lines }
        return .document
    }

    private static func contains(_ bytes: [UInt8], _ marker: [UInt8]) -> Bool {
        guard !marker.isEmpty, bytes.count >= marker.count else { return false }
        for start in 0...(bytes.count - marker.count) where bytes[start] == marker[0] {
            if bytes[start..<(start + marker.count)].elementsEqual(marker) { return true }
        }
        return false
    }

    /// `Name: value` where the name is printable ASCII without spaces (RFC 5322 §3.6.8).
    static func isHeaderLine(_ line: ArraySlice<UInt8>) -> Bool {
        guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex else { return false }
        return line[line.startIndex..<colon].allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
