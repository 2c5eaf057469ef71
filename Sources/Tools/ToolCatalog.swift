import Foundation
import GRDB
import PurserDomain

/// Every tool this build has, and the only list of them (docs/EXTENDING.md, "Adding a tool").
///
/// Each tool is one `ToolDefinition` in its own file (name, description, argument schema,
/// action category, activity sentence, executor); `standard` lists them. Everything that needs
/// to know the tools reads this: the agent-config validator (through `acceptedNames`, which its
/// callers pass in, since the domain module sits below this one), the policy (categories), the
/// registry (executors), the audit projector and `purser replay` (sentences), and the dashboard
/// (`GET /api/tools`).
public struct ToolCatalog: Sendable {
    /// The implemented tools, in listing order.
    public let entries: [ToolDefinition]
    /// Names configs written for the seed platform still mention but this build does not
    /// implement: a config naming them validates, the model is never offered them, and the
    /// policy denies a call to one as an unknown tool.
    public let notImplemented: [String]
    private let byName: [String: ToolDefinition]

    public init(_ entries: [ToolDefinition], notImplemented: [String] = []) {
        self.entries = entries
        self.notImplemented = notImplemented
        byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        precondition(byName.count == entries.count, "two tools of the catalog share a name")
        precondition(Set(notImplemented).isDisjoint(with: byName.keys), "a not-implemented name is also an implemented tool")
    }

    /// The tools of this build. Adding a tool is its file plus one line here.
    public static let standard = ToolCatalog([
        .dataQuery,
        .crm,
        .booking,
        .knowledge,
        .sendMessage,
        .bulkCRMEmail,
        .handoff,
    ], notImplemented: [
        "sequences_tool", "workflow_tool", "webinar_tool", "contact_sync_tool",
        "activity_protocol_tool", "projects_tool", "forms_tool",
    ])

    public subscript(name: String) -> ToolDefinition? { byName[name] }

    /// The implemented tools' names, in listing order.
    public var names: [String] { entries.map(\.name) }

    /// Every name an agent config may mention (`enabledTools`, `disabledTools`): the implemented
    /// tools, then the seed platform's. What callers pass to `OrgAgentConfig.load(_:tools:routing:)`.
    public var acceptedNames: [String] { names + notImplemented }

    /// The call's action category, or nil for a tool the catalog lacks.
    public func category(of tool: String, arguments: JSONValue) -> ActionCategory? {
        byName[tool]?.categoryOf(arguments)
    }

    /// What the agent did, in the words of the tool's sentence; nil when the tool is unknown or
    /// its sentence has nothing specific to say about this call (the printer then falls back to
    /// "Ran <tool>" with what it knows).
    public func sentence(tool: String, call: some ToolCallFacts) -> String? {
        byName[tool]?.sentence.render(call)
    }
}

/// What executors are built over: the read models a tool may read.
public struct ToolEnvironment: Sendable {
    /// The `crm` read model.
    public var crm: any DatabaseReader
    /// Where `data_query_tool` runs its queries when not on `crm`: the crm model kept in
    /// PostgreSQL, on that store. Nil: on `crm`.
    public var dataQueries: (any DataQueryRunning)?

    public init(crm: any DatabaseReader, dataQueries: (any DataQueryRunning)? = nil) {
        self.crm = crm
        self.dataQueries = dataQueries
    }
}

/// The sentence the activity log and `purser replay` print for an executed call ("Queried 3
/// bookings"), one per tool so the two never disagree.
public struct ToolSentence: Sendable {
    /// The sentence's shape, values of the call in `{…}`, for listings (`GET /api/tools`).
    public var template: String
    /// The sentence for one executed call; nil to let the printer say "Ran <tool>".
    public var render: @Sendable (any ToolCallFacts) -> String?

    public init(template: String, render: @escaping @Sendable (any ToolCallFacts) -> String?) {
        self.template = template
        self.render = render
    }

    /// For a tool with nothing more specific to say than its name.
    public static let ranTool = ToolSentence(template: "Ran {tool}") { _ in nil }
}

/// What a sentence may read of one executed call. Two readers answer it: the audit projector
/// straight from the event's bytes (a query result can be large, and only the members a sentence
/// asks for are looked at) and `purser replay` from the decoded `tool.executed`.
public protocol ToolCallFacts {
    /// The string member `key` of the call's arguments.
    func argumentString(_ key: StaticString) -> String?
    /// The number member `key` of the call's result.
    func resultNumber(_ key: StaticString) -> Double?
    /// Whether the call's result has a member `key`.
    func resultHas(_ key: StaticString) -> Bool
}

extension ToolExecuted: ToolCallFacts {
    public func argumentString(_ key: StaticString) -> String? { arguments[key.description]?.stringValue }

    public func resultNumber(_ key: StaticString) -> Double? {
        if case .number(let n)? = result[key.description] { return n }
        return nil
    }

    public func resultHas(_ key: StaticString) -> Bool { result[key.description] != nil }
}
