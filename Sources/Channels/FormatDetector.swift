import Foundation

/// Tells the input formats apart from their first bytes.
///
/// Rules, applied to the first line that is neither blank nor a `#` comment:
/// a line starting `From ` is an mbox; `{` or `[` is JSON — WhatsApp when it is a Cloud API
/// webhook body (`object: whatsapp_business_account` or `entry`, or a bundle of them), else
/// JSON Lines of normalized messages (or, for a multi-line document, the webchat body); a
/// `Name: value` header line is an RFC 5322 mail; `Name=value&…` is a Twilio form body.
public enum FormatDetector {
    /// How JSON input is laid out.
    enum JSONLayout: Sendable, Hashable {
        /// One JSON value per line.
        case lines
        /// One value spread over many lines (a pretty-printed webhook body).
        case document
    }

    enum Decision: Sendable, Hashable {
        case jsonLines(NormalizedMessageParser.ChannelPolicy)
        case jsonDocument(NormalizedMessageParser.ChannelPolicy)
        case whatsapp(JSONLayout)
        case twilio
        case eml
        case mbox
        case empty
        case unknown

        var format: InputFormat? {
            switch self {
            case .jsonLines: return .jsonl
            case .jsonDocument(let policy): return policy == .webchatOnly ? .webchat : .jsonl
            case .whatsapp: return .whatsapp
            case .twilio: return .twilio
            case .eml: return .eml
            case .mbox: return .mbox
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
        if MboxSplitter.isEnvelope(head) { return .mbox }
        if head.first == 0x7B || head.first == 0x5B {
            if !first.complete && !atLimit { return nil }
            if first.complete, case .value(let value) = JSONSupport.parse(head) {
                return WhatsAppAdapter.isWebhookOrBundle(value) ? .whatsapp(.lines) : .jsonLines(.required)
            }
            // A broken first line followed by a good one is JSON Lines; decide now so a pipe
            // does not wait for more input. A lone `{` or `[` starts a pretty-printed document.
            if head.count > 1, lines.count > 1, lines[1].complete, lines[1].bytes.first == 0x7B,
               case .value(let value) = JSONSupport.parse(lines[1].bytes) {
                return WhatsAppAdapter.isWebhookOrBundle(value) ? .whatsapp(.lines) : .jsonLines(.required)
            }
            if !complete && !atLimit { return nil }
            if complete, case .value(let value) = JSONSupport.parse(prefix) {
                if WhatsAppAdapter.isWebhookOrBundle(value) { return .whatsapp(.document) }
                if let object = value as? [String: Any], let channel = object["channel"] as? String, channel != "webchat" {
                    return .jsonDocument(.required)
                }
                return .jsonDocument(.webchatOnly)
            }
            if containsMarker(prefix) { return .whatsapp(.document) }
            if head.count == 1 { return .jsonDocument(.webchatOnly) }
            return .jsonLines(.required)
        }
        if TwilioAdapter.looksLikeForm(head) { return .twilio }
        if isHeaderLine(head) { return .eml }
        if !first.complete && !atLimit { return nil }
        return .unknown
    }

    /// Decides between one-value-per-line and one document for an explicitly named JSON format.
    static func jsonLayout(prefix: [UInt8], complete: Bool, atLimit: Bool) -> JSONLayout? {
        let lines = significantLines(prefix, complete: complete, max: 1)
        guard let first = lines.first else { return complete || atLimit ? .lines : nil }
        if !first.complete && !atLimit { return nil }
        if first.complete, case .value = JSONSupport.parse(first.bytes) { return .lines }
        return .document
    }

    private static func containsMarker(_ bytes: [UInt8]) -> Bool {
        let marker = Array("\"whatsapp_business_account\"".utf8)
        guard bytes.count >= marker.count else { return false }
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
