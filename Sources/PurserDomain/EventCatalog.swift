import Foundation

/// One step of schema evolution: turns the `data` of `type` at `fromVersion` into the data at
/// `fromVersion + 1`.
///
/// Upcasters work on `JSONValue`, not on old structs, so old versions need no code beyond the
/// step itself, and a chain v1→v2→v3 is just the steps applied in order.
public struct Upcaster: Sendable {
    public let type: String
    public let fromVersion: Int
    public let transform: @Sendable (JSONValue) throws(DomainError) -> JSONValue

    public init(type: String, fromVersion: Int, transform: @escaping @Sendable (JSONValue) throws(DomainError) -> JSONValue) {
        self.type = type
        self.fromVersion = fromVersion
        self.transform = transform
    }
}

/// The upcasters a reader applies, at most one per type and version step.
public struct UpcasterRegistry: Sendable {
    private let steps: [String: [Int: Upcaster]]

    /// Two upcasters for the same step are a programming error and stop the process: which one
    /// ran would decide what history means.
    public init(_ upcasters: [Upcaster]) {
        var steps: [String: [Int: Upcaster]] = [:]
        for upcaster in upcasters {
            precondition(steps[upcaster.type]?[upcaster.fromVersion] == nil,
                         "two upcasters for \(upcaster.type) v\(upcaster.fromVersion)")
            steps[upcaster.type, default: [:]][upcaster.fromVersion] = upcaster
        }
        self.steps = steps
    }

    /// Every upcaster of this build.
    public static let standard = UpcasterRegistry([
        MessageReceived.upcasterFromV1,
    ])

    /// Whether every step from `from` to `to` exists.
    public func hasChain(for type: String, from: Int, to: Int) -> Bool {
        guard from <= to else { return false }
        return (from..<to).allSatisfy { steps[type]?[$0] != nil }
    }

    /// Applies the steps `from`→`from+1`→…→`to` in order.
    public func upcast(_ data: JSONValue, type: String, from: Int, to: Int) throws(DomainError) -> JSONValue {
        var value = data
        var version = from
        while version < to {
            guard let step = steps[type]?[version] else {
                throw DomainError(.upcastFailed, "\(type) v\(version) cannot be read: no upcaster to v\(version + 1) is registered")
            }
            do {
                value = try step.transform(value)
            } catch {
                throw DomainError(.upcastFailed, "upcasting \(type) from v\(version) to v\(version + 1) failed: \(error.message)", cause: error)
            }
            version += 1
        }
        return value
    }
}

/// Decodes event payloads into `DomainEvent` and encodes them for appending.
///
/// Decoding takes the envelope's `type`, `v` and the raw bytes of `data` — consumers that filter
/// by type can skip decoding the rest. Older versions are upcast to the current one first;
/// unknown types come back as `.unknown`, never as an error, so one new event type cannot stop a
/// replay.
public struct EventCatalog: Sendable {
    struct Entry: Sendable {
        let type: String
        let version: Int
        let decode: @Sendable (JSONValue) throws -> DomainEvent
    }

    static func entry<P: EventPayload>(_ payload: P.Type, _ wrap: @escaping @Sendable (P) -> DomainEvent) -> Entry {
        Entry(type: P.type, version: P.version) { value in wrap(try JSONValueDecoder().decode(P.self, from: value)) }
    }

    private static let byType: [String: Entry] = Dictionary(uniqueKeysWithValues: entries.map { ($0.type, $0) })

    /// The catalog with this build's upcasters.
    public static let standard = EventCatalog()

    public let upcasters: UpcasterRegistry

    public init(upcasters: UpcasterRegistry = .standard) {
        self.upcasters = upcasters
    }

    /// Every event type of the catalog, in the order of eventlog/EVENTS.md.
    public static var types: [String] { entries.map(\.type) }

    /// The version this build writes for `type`; `nil` for types it does not know.
    public static func currentVersion(of type: String) -> Int? { byType[type]?.version }

    /// Decodes one event's `data`.
    ///
    /// - Throws: `unsupportedEventVersion` for a version newer than this build writes (or below
    ///   1), `upcastFailed` when an upcaster is missing or fails, `invalidPayload` when the bytes
    ///   do not match the schema.
    public func decode(type: String, version: Int, data: Data) throws(DomainError) -> DomainEvent {
        guard let entry = Self.byType[type] else { return .unknown(type: type, version: version, data: data) }
        let value = try currentValue(type: type, version: version, current: entry.version, data: data)
        do {
            return try entry.decode(value)
        } catch {
            throw DomainError(.invalidPayload, "\(type) v\(version): \(EventCoding.describe(error))", cause: error)
        }
    }

    /// Decodes `data` as `P` when the caller already knows the type, upcasting as needed.
    public func decode<P: EventPayload>(_ payload: P.Type, version: Int, data: Data) throws(DomainError) -> P {
        let value = try currentValue(type: P.type, version: version, current: P.version, data: data)
        do {
            return try JSONValueDecoder().decode(P.self, from: value)
        } catch {
            throw DomainError(.invalidPayload, "\(P.type) v\(version): \(EventCoding.describe(error))", cause: error)
        }
    }

    /// The envelope fields for appending `payload`: its type, current version and JSON bytes.
    public func encode<P: EventPayload>(_ payload: P) throws(DomainError) -> EncodedPayload {
        do {
            return EncodedPayload(type: P.type, version: P.version, data: try EventCoding.encoder.encode(payload))
        } catch {
            throw DomainError(.encodingFailed, "could not encode \(P.type): \(error)", cause: error)
        }
    }

    /// `encode(_:)` for a `DomainEvent`; an `.unknown` event is returned as it was read.
    public func encode(_ event: DomainEvent) throws(DomainError) -> EncodedPayload {
        if case .unknown(let type, let version, let data) = event {
            return EncodedPayload(type: type, version: version, data: data)
        }
        guard let payload = event.payload else {
            throw DomainError(.encodingFailed, "event has no payload")
        }
        return try encode(payload)
    }

    /// Parses `data` and brings it to the current version.
    private func currentValue(type: String, version: Int, current: Int, data: Data) throws(DomainError) -> JSONValue {
        guard version >= 1, version <= current else {
            throw DomainError(.unsupportedEventVersion,
                              "\(type) v\(version) is not readable by this build, which reads v1 to v\(current)"
                                  + (version > current ? "; it was written by a newer Purser, upgrade to read it" : ""))
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: data)
        } catch {
            throw DomainError(.invalidPayload, "\(type) v\(version): \(error.message)", cause: error)
        }
        if version == current { return value }
        return try upcasters.upcast(value, type: type, from: version, to: current)
    }
}
