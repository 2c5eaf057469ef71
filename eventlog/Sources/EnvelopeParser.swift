import PurserCore

/// Turns an envelope written as JSON (a `purser log append` line: the envelope of eventlog/EVENTS.md
/// without `seq`) into a draft, with a message naming the field at fault.
public enum EnvelopeParser {
    static let knownKeys: Set<String> = ["id", "ts", "org", "stream", "type", "v", "correlationId", "causationId", "actor", "data"]

    public static func parse(_ line: [UInt8]) throws -> EventDraft {
        try line.withUnsafeBytes { try parse($0) }
    }

    public static func parse(_ b: UnsafeRawBufferPointer) throws -> EventDraft {
        func bad(_ m: String) -> LogError { LogError(.invalidEvent, m) }
        let members: [JSONBytes.Member]
        do { members = try JSONBytes.members(of: b) } catch { throw bad("not a JSON object: \(error)") }
        var fields: [String: Range<Int>] = [:]
        for m in members {
            if m.key == "seq" { throw bad("\"seq\" is assigned by the log; remove it from the line") }
            guard knownKeys.contains(m.key) else { throw bad("unknown field \"\(m.key)\"; an envelope has \(knownKeys.sorted().joined(separator: ", "))") }
            if fields[m.key] != nil { throw bad("field \"\(m.key)\" appears twice") }
            fields[m.key] = m.value
        }
        func string(_ key: String, required: Bool) throws -> String? {
            guard let r = fields[key] else {
                if required { throw bad("missing field \"\(key)\"") }
                return nil
            }
            guard let s = JSONBytes.decodeString(b, r) else { throw bad("field \"\(key)\" must be a string") }
            return s
        }
        let org = try string("org", required: true)!
        let stream = try string("stream", required: true)!
        let type = try string("type", required: true)!
        var version = 1
        if let r = fields["v"] {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[r]), as: UTF8.self)
            guard let v = Int(text), v >= 1 else { throw bad("field \"v\" must be a whole number of 1 or more, not \(text)") }
            version = v
        }
        var ts: Int64? = nil
        if let t = try string("ts", required: false) {
            guard let ms = Timestamp.parseMilliseconds(t, rules: .envelope) else { throw bad("field \"ts\" is not an ISO-8601 timestamp (like 2026-11-25T10:00:00.123Z): \(t)") }
            ts = ms
        }
        var actor = Actor.system
        if let r = fields["actor"] {
            let sub = UnsafeRawBufferPointer(rebasing: b[r])
            guard let am = try? JSONBytes.members(of: sub) else { throw bad("field \"actor\" must be an object {\"kind\", \"id\"}") }
            var kind: Actor.Kind?
            var id: String?
            for m in am {
                switch m.key {
                case "kind":
                    guard let k = JSONBytes.decodeString(sub, m.value), let parsed = Actor.Kind(rawValue: k) else {
                        throw bad("actor.kind must be one of \(Actor.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    kind = parsed
                case "id":
                    guard let s = JSONBytes.decodeString(sub, m.value) else { throw bad("actor.id must be a string") }
                    id = s
                default:
                    throw bad("unknown field actor.\(m.key)")
                }
            }
            guard let kind, let id else { throw bad("actor needs both \"kind\" and \"id\"") }
            actor = Actor(kind, id)
        }
        guard let dr = fields["data"] else { throw bad("missing field \"data\"") }
        guard b[dr.lowerBound] == 123 else { throw bad("field \"data\" must be a JSON object") }
        let data = Array(UnsafeRawBufferPointer(rebasing: b[dr]))
        return EventDraft(org: org, stream: stream, type: type, version: version, data: data, actor: actor,
                          id: try string("id", required: false), timestampMs: ts,
                          correlationId: try string("correlationId", required: false),
                          causationId: try string("causationId", required: false))
    }
}
