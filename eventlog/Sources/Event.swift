import PurserCore

/// Who caused an event: a customer, the org's agent, a human operator, or the system.
public struct Actor: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case customer, agent, human, system
    }

    public var kind: Kind
    public var id: String

    public init(_ kind: Kind, _ id: String) {
        self.kind = kind
        self.id = id
    }

    public static let system = Actor(.system, "purser")
}

/// An event as a producer hands it to the log: everything of the envelope but `seq`, which the
/// log assigns. `data` is the payload's JSON object, encoded once by the producer.
public struct EventDraft: Sendable {
    public var id: String
    public var timestampMs: Int64
    public var org: String
    public var stream: String
    public var type: String
    public var version: Int
    public var correlationId: String?
    public var causationId: String?
    public var actor: Actor
    public var data: [UInt8]

    public init(org: String, stream: String, type: String, version: Int = 1, data: [UInt8],
                actor: Actor = .system, id: String? = nil, timestampMs: Int64? = nil,
                correlationId: String? = nil, causationId: String? = nil) {
        let ts = timestampMs ?? Timestamp.nowMs()
        self.id = id ?? ULID.make(ms: ts)
        self.timestampMs = ts
        self.org = org
        self.stream = stream
        self.type = type
        self.version = version
        self.correlationId = correlationId
        self.causationId = causationId
        self.actor = actor
        self.data = data
    }
}

/// Limits on one event, with units last.
public enum EventLimits {
    public static let eventBytesMax = 1 << 20
    public static let orgBytesMax = 128
    public static let streamBytesMax = 512
    public static let typeBytesMax = 128
    public static let idBytesMax = 128
    public static let actorIdBytesMax = 512
}

/// A draft that passed validation, with its envelope encoded (all but the leading `{"seq":N,`)
/// and the hashes the writer needs computed here, on the producer's thread.
struct PreparedEvent: Sendable {
    var id: HashedKey
    var org: HashedKey
    var stream: HashedKey
    var type: HashedKey
    /// The stream within its org (streams are per org).
    var streamKey: StreamID
    var timestampMs: Int64
    var body: [UInt8]

    var idHash: UInt64 { id.hash }
}

/// A string with its hash computed once. Dictionaries keyed by it hash only the 64-bit value
/// and compare text only on a hash match, which keeps the writer's per-event bookkeeping cheap.
struct HashedKey: Hashable, Sendable {
    let hash: UInt64
    let text: String

    init(_ text: String) {
        self.text = text
        self.hash = fnv1a64(text)
    }

    init(hash: UInt64, text: String) {
        self.hash = hash
        self.text = text
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    static func == (a: HashedKey, b: HashedKey) -> Bool { a.hash == b.hash && a.text == b.text }
}

/// A stream: streams are per org, so the same stream name in two orgs names two streams.
struct StreamID: Hashable, Sendable {
    let hash: UInt64
    let org: String
    let stream: String

    init(org: String, stream: String) {
        self.org = org
        self.stream = stream
        hash = fnv1a64(stream, seed: fnv1a64(org) ^ 0x01)
    }

    /// The form stored in segment indexes: org, 0x01, stream (orgs never contain 0x01).
    var stored: String { org + "\u{1}" + stream }

    init?(stored: String) {
        guard let sep = stored.utf8.firstIndex(of: 1) else { return nil }
        self.init(org: String(stored[..<sep]), stream: String(stored[stored.utf8.index(after: sep)...]))
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    static func == (a: StreamID, b: StreamID) -> Bool { a.hash == b.hash && a.stream == b.stream && a.org == b.org }
}

/// FNV-1a, 64-bit: cheap, stable across runs and builds (Swift's Hasher is neither), so it can
/// be stored in indexes.
@inline(__always)
func fnv1a64(_ s: String, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var s = s
    return s.withUTF8 { buf in
        var h = seed
        for b in buf {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}

extension EventDraft {
    /// Validates the draft and encodes its envelope body. The messages name the field and the fix.
    func prepare() throws -> PreparedEvent {
        func bad(_ msg: String) -> LogError { LogError(.invalidEvent, "event \(id.isEmpty ? "(no id)" : id): \(msg)") }
        func checkName(_ value: String, _ field: String, _ max: Int, allowed: (UInt8) -> Bool) throws {
            var copy = value
            let n = copy.utf8.count
            if n == 0 { throw bad("\(field) is empty") }
            if n > max { throw bad("\(field) is \(n) bytes; at most \(max) are allowed") }
            let ok = copy.withUTF8 { buf in buf.allSatisfy(allowed) }
            if !ok { throw bad("\(field) \"\(value)\" contains a character that is not allowed there") }
        }
        let printable: (UInt8) -> Bool = { $0 >= 0x20 && $0 != 0x7F }
        try checkName(id, "id", EventLimits.idBytesMax, allowed: { $0 > 0x20 && $0 < 0x7F })
        try checkName(org, "org", EventLimits.orgBytesMax, allowed: { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 || c == 46 || c == 58
        })
        try checkName(stream, "stream", EventLimits.streamBytesMax, allowed: printable)
        try checkName(type, "type", EventLimits.typeBytesMax, allowed: { c in
            (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || c == 95 || c == 46
        })
        try checkName(actor.id, "actor.id", EventLimits.actorIdBytesMax, allowed: printable)
        if version < 1 { throw bad("v must be 1 or more, not \(version)") }
        if let c = correlationId { try checkName(c, "correlationId", EventLimits.idBytesMax, allowed: { $0 > 0x20 && $0 < 0x7F }) }
        if let c = causationId { try checkName(c, "causationId", EventLimits.idBytesMax, allowed: { $0 > 0x20 && $0 < 0x7F }) }
        if data.count > EventLimits.eventBytesMax { throw bad("data is \(data.count) bytes; at most \(EventLimits.eventBytesMax) are allowed") }
        do {
            try data.withUnsafeBytes { try JSONBytes.validateObject($0) }
        } catch let e as JSONBytes.SyntaxError {
            throw bad("data is not valid JSON: \(e)")
        } catch {
            throw bad("data is not valid JSON")
        }

        var out: [UInt8] = []
        out.reserveCapacity(data.count + 200 + stream.utf8.count)
        out.append(contentsOf: #""id":"#.utf8)
        JSONBytes.appendString(id, to: &out)
        out.append(contentsOf: #","ts":""#.utf8)
        Timestamp.appendISO(timestampMs, to: &out)
        out.append(contentsOf: #"","org":"#.utf8)
        JSONBytes.appendString(org, to: &out)
        out.append(contentsOf: #","stream":"#.utf8)
        JSONBytes.appendString(stream, to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONBytes.appendString(type, to: &out)
        out.append(contentsOf: #","v":"#.utf8)
        appendDecimal(UInt64(version), to: &out)
        if let c = correlationId {
            out.append(contentsOf: #","correlationId":"#.utf8)
            JSONBytes.appendString(c, to: &out)
        }
        if let c = causationId {
            out.append(contentsOf: #","causationId":"#.utf8)
            JSONBytes.appendString(c, to: &out)
        }
        out.append(contentsOf: #","actor":{"kind":""#.utf8)
        out.append(contentsOf: actor.kind.rawValue.utf8)
        out.append(contentsOf: #"","id":"#.utf8)
        JSONBytes.appendString(actor.id, to: &out)
        out.append(contentsOf: #"},"data":"#.utf8)
        // Payload bytes go in as the producer encoded them, minus surrounding whitespace and
        // newlines (a JSON Lines record is one line).
        var lo = 0, hi = data.count
        while lo < hi, data[lo] <= 32 { lo += 1 }
        while hi > lo, data[hi - 1] <= 32 { hi -= 1 }
        let start = out.count
        out.append(contentsOf: data[lo..<hi])
        for i in start..<out.count where out[i] == 10 || out[i] == 13 { out[i] = 32 }
        out.append(125)
        if out.count > EventLimits.eventBytesMax { throw bad("the encoded event is \(out.count) bytes; at most \(EventLimits.eventBytesMax) are allowed") }
        return PreparedEvent(id: HashedKey(id), org: HashedKey(org), stream: HashedKey(stream), type: HashedKey(type),
                             streamKey: StreamID(org: org, stream: stream), timestampMs: timestampMs, body: out)
    }
}

/// One stored event as a reader sees it. `json` is the envelope exactly as written (one line,
/// no newline); it is only valid during the callback that receives it.
public struct EventRecord {
    public var seq: UInt64
    public var org: String
    public var type: String
    public var stream: String
    public var streamVersion: UInt32
    public var json: UnsafeRawBufferPointer

    /// A record over bytes the caller keeps alive for as long as the record is used (another
    /// store's line, handed to code written against the log's reader).
    public init(seq: UInt64, org: String, type: String, stream: String, streamVersion: UInt32, json: UnsafeRawBufferPointer) {
        self.seq = seq
        self.org = org
        self.type = type
        self.stream = stream
        self.streamVersion = streamVersion
        self.json = json
    }

    /// A copy of the envelope's bytes that outlives the callback.
    public var jsonBytes: [UInt8] { Array(json) }
    public var jsonString: String { String(decoding: json, as: UTF8.self) }
}
