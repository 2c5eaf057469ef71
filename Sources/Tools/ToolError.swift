import Foundation
import PurserCore
import PurserDomain

/// The one error type of `Tools`.
///
/// A tool error is read by a language model, which must be able to correct its call from it: the
/// `code` is stable, the `message` says what to write instead, and `field` points at the part of
/// the arguments that is wrong (for example `filters[1].op`). `cause` keeps the underlying
/// failure (SQLite, JSON parsing) for logs; it is never shown to the model.
public struct ToolError: PurserError {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The arguments are not valid JSON.
        case invalidJSON = "invalid_json"
        /// The arguments do not match the tool's JSON Schema.
        case invalidArguments = "invalid_arguments"
        /// A member the tool does not accept.
        case unknownKey = "unknown_key"
        /// A required member is missing.
        case missingField = "missing_field"
        /// A field name the query language does not know.
        case unknownField = "unknown_field"
        /// A `customProperties.<path>` that does not follow the path grammar.
        case invalidFieldPath = "invalid_field_path"
        /// An operator the query language does not know.
        case unknownOperator = "unknown_operator"
        /// A value whose JSON type does not fit the operator or field.
        case badValueType = "bad_value_type"
        /// A relative date that does not follow the relative-date grammar.
        case invalidRelativeDate = "invalid_relative_date"
        /// A number outside its documented range (limit, offset, list sizes).
        case outOfRange = "out_of_range"
        /// An aggregate the query language does not know, or one that does not fit its field.
        case unknownAggregate = "unknown_aggregate"
        /// A sort direction other than `asc` or `desc`.
        case invalidSort = "invalid_sort"
        /// A link type that does not follow the link-type grammar.
        case invalidLinkType = "invalid_link_type"
        /// A tool no registry entry has.
        case unknownTool = "unknown_tool"
        /// A tool declared in the registry whose executor this build does not include.
        case toolUnavailable = "tool_unavailable"
        /// The read model could not be read.
        case readModelFailed = "read_model_failed"
        /// A value of the right type the tool cannot accept: an address that does not normalize,
        /// a date that is not ISO-8601, a range that ends before it starts.
        case invalidValue = "invalid_value"
        /// The object the call names does not exist in the org (or is deleted, or is of another
        /// type, or is not the session contact's own).
        case notFound = "not_found"
        /// The call would contradict what the org holds: a duplicate contact, an overlapping booking.
        case conflict = "conflict"
        /// A bulk send whose segment holds more recipients than a single call may reach.
        case tooManyRecipients = "too_many_recipients"
        /// The tool acts on the conversation, and the call runs outside one (or one without a
        /// customer address).
        case noSession = "no_session"
    }

    public var code: Code
    public var message: String
    /// Where in the arguments the problem is, as a dotted path with `[index]`; `nil` for the
    /// call as a whole.
    public var field: String?
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, field: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.cause = cause
    }

    /// The `{"error": {"code", "message", "field"?}}` object the model receives.
    public var json: JSONValue {
        var body: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(message)]
        if let field { body["field"] = .string(field) }
        return ["error": .object(body)]
    }

    public var details: [String] { field.map { ["at \($0)"] } ?? [] }
}
