import Foundation
import PurserCore
import PurserDomain

/// Field access on an event's payload, the fast path for hot event types: the payload's
/// top-level members are located without building any value, and only the fields asked for are
/// decoded. Old versions are upcast to the current one first. A missing or mistyped required
/// field is an `undecodableEvent` naming it, like the typed decode.
public struct PayloadFields: Sendable {
    public let event: ProjectedEvent
    private let bytes: [UInt8]
    private let members: [JSONBytes.Scan.Member]

    public init(_ event: ProjectedEvent) throws(ProjectionError) {
        self.event = event
        var bytes = [UInt8](event.data)
        if let current = EventCatalog.currentVersion(of: event.type), event.version != current {
            bytes = [UInt8](try event.payload().serializedData())
        }
        let scanned: [JSONBytes.Scan.Member]? = bytes.withUnsafeBytes { JSONBytes.Scan.members($0) }
        guard let scanned else {
            throw ProjectionError(.undecodableEvent, "event #\(event.seq) (\(event.type)): data is not a JSON object")
        }
        members = scanned
        self.bytes = bytes
    }

    private func range(_ key: StaticString) -> Range<Int>? {
        bytes.withUnsafeBytes { b in
            for m in members where JSONBytes.Scan.keyEquals(b, m.key, key) { return m.value }
            return nil
        }
    }

    private func missing(_ key: StaticString, _ kind: String) -> ProjectionError {
        ProjectionError(.undecodableEvent, "event #\(event.seq) (\(event.type)): field \"\(key)\" must be \(kind)")
    }

    public func string(_ key: StaticString) throws(ProjectionError) -> String {
        guard let v = optionalString(key) else { throw missing(key, "a string") }
        return v
    }

    public func optionalString(_ key: StaticString) -> String? {
        guard let r = range(key) else { return nil }
        return bytes.withUnsafeBytes { JSONBytes.Scan.string($0, r) }
    }

    public func double(_ key: StaticString) throws(ProjectionError) -> Double {
        guard let v = optionalDouble(key) else { throw missing(key, "a number") }
        return v
    }

    public func optionalDouble(_ key: StaticString) -> Double? {
        guard let r = range(key) else { return nil }
        return bytes.withUnsafeBytes { JSONBytes.Scan.number($0, r) }
    }

    public func int(_ key: StaticString) throws(ProjectionError) -> Int {
        guard let v = optionalDouble(key), v.isFinite, abs(v) < 9.0e15 else { throw missing(key, "a number") }
        return Int(v)
    }

    /// A member's JSON text as written (compact, as the producer encoded it); nil when absent
    /// or null.
    public func json(_ key: StaticString) -> String? {
        guard let r = range(key) else { return nil }
        return bytes.withUnsafeBytes { b in
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[r]), as: UTF8.self)
            return text == "null" ? nil : text
        }
    }

    /// A member parsed into a JSON value, for the few fields a projector looks inside.
    public func value(_ key: StaticString) -> JSONValue? {
        guard let r = range(key) else { return nil }
        return bytes.withUnsafeBytes { try? JSONValue(parsing: UnsafeRawBufferPointer(rebasing: $0[r])) }
    }

    /// The range of `sub` inside the object member `key`.
    private func range(_ key: StaticString, _ sub: StaticString) -> Range<Int>? {
        guard let r = range(key) else { return nil }
        return bytes.withUnsafeBytes { b -> Range<Int>? in
            let inner = UnsafeRawBufferPointer(rebasing: b[r])
            guard let members = JSONBytes.Scan.members(inner) else { return nil }
            for m in members where JSONBytes.Scan.keyEquals(inner, m.key, sub) {
                return (m.value.lowerBound + r.lowerBound)..<(m.value.upperBound + r.lowerBound)
            }
            return nil
        }
    }

    /// The string `key.sub` (e.g. a tool call's `arguments.objectType`), without parsing the rest.
    public func optionalString(_ key: StaticString, _ sub: StaticString) -> String? {
        guard let r = range(key, sub) else { return nil }
        return bytes.withUnsafeBytes { JSONBytes.Scan.string($0, r) }
    }

    /// The number `key.sub` (e.g. `result.total`), without parsing the rest.
    public func optionalDouble(_ key: StaticString, _ sub: StaticString) -> Double? {
        guard let r = range(key, sub) else { return nil }
        return bytes.withUnsafeBytes { JSONBytes.Scan.number($0, r) }
    }

    /// Whether the object member `key` has a member `sub`.
    public func has(_ key: StaticString, _ sub: StaticString) -> Bool { range(key, sub) != nil }

    /// The session the event belongs to: the payload's `sessionId`, else the stream's
    /// `session:<id>`.
    public var sessionId: String? { optionalString("sessionId") ?? event.streamID(kind: "session") }
}
