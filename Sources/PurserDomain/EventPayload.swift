import Foundation

/// The typed `data` of one event type, at the version this build writes.
///
/// `type` is the envelope's `type`, `version` its `v`. Older versions found in the log are
/// brought up to `version` by the upcasters of `UpcasterRegistry` before decoding, so consumers
/// only ever handle the current shape.
public protocol EventPayload: Codable, Sendable, Hashable {
    static var type: String { get }
    static var version: Int { get }
}

/// Who caused an event: the envelope's `actor`.
public struct EventActor: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The org's customer; `id` is their normalized channel address.
        case customer
        /// The org's AI agent; `id` is the agent id.
        case agent
        /// A person of the org (operator, admin); `id` names them (token label or user id).
        case human
        /// Purser itself (imports, expiry, recovery); `id` names the component.
        case system
    }

    public var kind: Kind
    public var id: String

    public init(kind: Kind, id: String) {
        self.kind = kind
        self.id = id
    }

    public static func customer(_ id: String) -> EventActor { EventActor(kind: .customer, id: id) }
    public static func agent(_ id: String) -> EventActor { EventActor(kind: .agent, id: id) }
    public static func human(_ id: String) -> EventActor { EventActor(kind: .human, id: id) }
    public static func system(_ id: String) -> EventActor { EventActor(kind: .system, id: id) }

    public var description: String { "\(kind.rawValue):\(id)" }
}

/// A payload ready to append: the envelope's `type` and `v`, and the JSON bytes of its `data`.
public struct EncodedPayload: Sendable, Hashable {
    public var type: String
    public var version: Int
    /// Compact JSON with sorted keys, so equal payloads give equal bytes.
    public var data: Data

    public init(type: String, version: Int, data: Data) {
        self.type = type
        self.version = version
        self.data = data
    }
}

/// The naming convention for event streams (the envelope's `stream`), the unit of optimistic
/// concurrency: appends that must not race name the same stream and its expected version.
public enum EventStream {
    /// An agent's configuration and status.
    public static func agent(_ agentId: String) -> String { "agent:\(agentId)" }
    /// One ontology object, its updates and deletion.
    public static func object(_ id: String) -> String { "object:\(id)" }
    /// The links that start at an object.
    public static func links(from id: String) -> String { "links:\(id)" }
    /// A conversation: its messages, LLM and tool calls, approvals, handoffs.
    public static func session(_ sessionId: String) -> String { "session:\(sessionId)" }
    /// One agent's spend on one UTC day, so concurrent charges against the caps serialize.
    public static func spend(agentId: String, day: String) -> String { "spend:\(agentId):\(day)" }
    /// Inbound input that belongs to no session: rejected lines, unrouted messages.
    public static let inbound = "inbound"
}

/// The JSON encoder all payloads go through (decoding uses `JSONValueDecoder`), shared because
/// it is immutable once configured and safe to use from any thread.
enum EventCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A short description of a coding error that names the field.
    static func describe(_ error: any Error) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "missing field \"\(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)\""
        case .typeMismatch(let type, let context):
            return "field \"\(path(context.codingPath))\" must be \(type)"
        case .valueNotFound(let type, let context):
            return "field \"\(path(context.codingPath))\" is null, expected \(type)"
        case .dataCorrupted(let context):
            let where_ = path(context.codingPath)
            return where_.isEmpty ? context.debugDescription : "field \"\(where_)\": \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
