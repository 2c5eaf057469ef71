import EventLog
import Foundation
import PurserCore
import PurserDomain

/// One event as a projector sees it: the envelope's fields parsed from the stored bytes, and the
/// payload's bytes, decoded only on request (decoding is the expensive part of a rebuild).
public struct ProjectedEvent: Sendable {
    public var seq: UInt64
    public var id: String
    public var org: String
    public var stream: String
    public var type: String
    /// The envelope's `v`: the version the payload was written in.
    public var version: Int
    public var timestampMs: Int64
    /// The envelope's `ts` as written (ISO-8601 UTC with milliseconds), what the read models
    /// store, so no time is formatted per event.
    public var timestampText: String
    public var actor: EventActor
    /// The payload's JSON bytes as written.
    public var data: Data

    public init(seq: UInt64, id: String, org: String, stream: String, type: String, version: Int, timestampMs: Int64,
                timestampText: String? = nil, actor: EventActor, data: Data) {
        self.timestampText = timestampText ?? Timestamp(millisecondsSinceEpoch: timestampMs).iso8601
        self.seq = seq
        self.id = id
        self.org = org
        self.stream = stream
        self.type = type
        self.version = version
        self.timestampMs = timestampMs
        self.actor = actor
        self.data = data
    }

    /// Parses the envelope of a stored event (`record.json` is only valid inside the scan's
    /// callback, so everything needed is copied out here).
    public init(_ record: EventRecord) throws(ProjectionError) {
        let json = record.json
        guard let members = JSONBytes.Scan.members(json) else {
            throw ProjectionError(.undecodableEvent, "event #\(record.seq) (\(record.type)): the envelope is not a JSON object")
        }
        var id = "", ts: Int64 = 0, tsText = "", version = 1
        var actor = EventActor(kind: .system, id: "")
        var data: Data?
        for m in members {
            if JSONBytes.Scan.keyEquals(json, m.key, "data") {
                data = Data(UnsafeRawBufferPointer(rebasing: json[m.value]))
            } else if JSONBytes.Scan.keyEquals(json, m.key, "ts") {
                tsText = JSONBytes.Scan.string(json, m.value) ?? ""
                ts = Timestamp(iso8601: tsText)?.millisecondsSinceEpoch ?? 0
            } else if JSONBytes.Scan.keyEquals(json, m.key, "id") {
                id = JSONBytes.Scan.string(json, m.value) ?? ""
            } else if JSONBytes.Scan.keyEquals(json, m.key, "v") {
                version = JSONBytes.Scan.number(json, m.value).map { Int($0) } ?? 1
            } else if JSONBytes.Scan.keyEquals(json, m.key, "actor") {
                actor = Self.actor(UnsafeRawBufferPointer(rebasing: json[m.value]))
            }
        }
        guard let data else { throw ProjectionError(.undecodableEvent, "event #\(record.seq) (\(record.type)) has no data") }
        self.init(seq: record.seq, id: id, org: record.org, stream: record.stream, type: record.type, version: version,
                  timestampMs: ts, timestampText: tsText, actor: actor, data: data)
    }

    private static func actor(_ json: UnsafeRawBufferPointer) -> EventActor {
        guard let members = JSONBytes.Scan.members(json) else { return EventActor(kind: .system, id: "") }
        var kind = EventActor.Kind.system, id = ""
        for m in members {
            if JSONBytes.Scan.keyEquals(json, m.key, "kind"), let k = JSONBytes.Scan.string(json, m.value).flatMap(EventActor.Kind.init(rawValue:)) { kind = k }
            if JSONBytes.Scan.keyEquals(json, m.key, "id") { id = JSONBytes.Scan.string(json, m.value) ?? "" }
        }
        return EventActor(kind: kind, id: id)
    }

    /// The event time.
    public var timestamp: Timestamp { Timestamp(millisecondsSinceEpoch: timestampMs) }

    /// The payload decoded through the catalog (upcast to the current version).
    public func decode() throws(ProjectionError) -> DomainEvent {
        do {
            return try EventCatalog.standard.decode(type: type, version: version, data: data)
        } catch {
            throw ProjectionError(.undecodableEvent, "event #\(seq) (\(type) v\(version)): \(error.message)", cause: error)
        }
    }

    /// The payload decoded as `P`, for a projector that knows the type.
    public func decode<P: EventPayload>(_ payload: P.Type) throws(ProjectionError) -> P {
        do {
            return try EventCatalog.standard.decode(P.self, version: version, data: data)
        } catch {
            throw ProjectionError(.undecodableEvent, "event #\(seq) (\(type) v\(version)): \(error.message)", cause: error)
        }
    }

    /// The payload as a JSON value, upcast to the current version of its type: the fast path for
    /// hot event types, where a projector reads a few fields and skips building the whole struct.
    public func payload() throws(ProjectionError) -> JSONValue {
        do {
            let value = try JSONValue(parsing: data)
            guard case .object = value else {
                throw ProjectionError(.undecodableEvent, "event #\(seq) (\(type)): data is not a JSON object")
            }
            guard let current = EventCatalog.currentVersion(of: type), version != current else { return value }
            guard version < current else {
                throw ProjectionError(.undecodableEvent, "event #\(seq) (\(type) v\(version)) was written by a newer Purser, which reads up to v\(current)")
            }
            return try EventCatalog.standard.upcasters.upcast(value, type: type, from: version, to: current)
        } catch let error as ProjectionError {
            throw error
        } catch {
            throw ProjectionError(.undecodableEvent, "event #\(seq) (\(type) v\(version)): \(error)", cause: error)
        }
    }

    /// The id in a stream name such as `session:ses_1` (the part after the first colon), when
    /// the stream has the given kind.
    public func streamID(kind: String) -> String? {
        guard stream.hasPrefix(kind), stream.utf8.count > kind.utf8.count + 1,
              stream.utf8[stream.utf8.index(stream.utf8.startIndex, offsetBy: kind.utf8.count)] == UInt8(ascii: ":") else { return nil }
        return String(stream.dropFirst(kind.count + 1))
    }
}

extension JSONValue {
    /// A required string member, or an `undecodableEvent` error naming it.
    public func string(_ key: String, in event: ProjectedEvent) throws(ProjectionError) -> String {
        guard let value = self[key]?.stringValue else {
            throw ProjectionError(.undecodableEvent, "event #\(event.seq) (\(event.type)): missing string field \"\(key)\"")
        }
        return value
    }
}
