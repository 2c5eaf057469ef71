import Foundation
// The bottom module comes with the domain: `JSONValue`, `Timestamp` and the error shape are in
// every domain type's signature, so `import PurserDomain` is enough to use them.
@_exported import PurserCore

/// A problem found in a user-supplied document, located by a JSON path so a person can find and
/// fix it (for example `customProperties.channelBindings[1].address`).
public struct ValidationProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Where the problem is, as a dotted JSON path with `[index]` for array elements; empty for
    /// the document as a whole.
    public var path: String
    /// What is wrong and how to fix it.
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// The one error type of `PurserDomain`.
///
/// Every failure carries a stable `code` for programs, a `message` written for the person who has
/// to act on it, all `problems` found (validation never stops at the first one), and the
/// underlying `cause` when another library failed.
public struct DomainError: PurserError {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// Bytes that are not valid JSON.
        case invalidJSON = "json.invalid"
        /// A timestamp that is not ISO-8601.
        case invalidTimestamp = "timestamp.invalid"
        /// A phone number, email address or channel address that cannot be normalized.
        case invalidAddress = "address.invalid"
        /// An org id that breaks `OrgIDGrammar`, or a case variant of an existing org.
        case invalidOrg = "org.invalid"
        /// An `org_agent` configuration with one or more problems (see `problems`).
        case invalidConfig = "config.invalid"
        /// An ontology object or link that breaks the ontology's rules.
        case invalidObject = "ontology.invalid"
        /// An event payload that does not match its type's schema.
        case invalidPayload = "event.payload_invalid"
        /// An event version this build does not know how to read.
        case unsupportedEventVersion = "event.version_unsupported"
        /// An upcaster failed or is missing for a step of the version chain.
        case upcastFailed = "event.upcast_failed"
        /// A payload could not be encoded.
        case encodingFailed = "event.encoding_failed"
    }

    public var code: Code
    public var message: String
    public var problems: [ValidationProblem]
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, problems: [ValidationProblem] = [], cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.problems = problems
        self.cause = cause
    }

    public var details: [String] { problems.map(\.description) }
}
