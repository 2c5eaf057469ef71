import Foundation
import GRDB
import PurserCore
import PurserDomain

/// What a tool call runs for: taken from the calling agent and its session, never from the
/// model's arguments, so no argument can name another org (docs/ARCHITECTURE.md, "The pipeline").
public struct ToolContext: Sendable {
    public var org: OrgID
    public var agentId: String
    /// The clock relative dates resolve against.
    public var now: Timestamp
    /// The agent's configuration in force (FAQ, knowledge doc ids, language).
    public var config: OrgAgentConfig?
    /// The conversation the call belongs to; nil for calls outside a session (`purser query`).
    public var sessionId: String?
    /// The session's CRM contact, what `send_message_tool` and "my bookings" refer to.
    public var contactId: String?
    /// The session's channel and the customer's normalized address on it.
    public var channel: Channel?
    public var contactAddress: String?
    /// The org's address on that channel (what the binding matched), the sender of replies.
    public var orgAddress: String?
    /// Staff talking to their own agent: nothing is delivered outside.
    public var internalSession: Bool
    /// Makes a fresh id with the given prefix (`c_`, `b_`, `msg_`); the pipeline passes ULIDs.
    public var makeId: @Sendable (String) -> String

    public init(org: OrgID, agentId: String, now: Timestamp, config: OrgAgentConfig? = nil, sessionId: String? = nil,
                contactId: String? = nil, channel: Channel? = nil, contactAddress: String? = nil, orgAddress: String? = nil,
                internalSession: Bool = false,
                makeId: @escaping @Sendable (String) -> String = { prefix in prefix + UUID().uuidString.lowercased() }) {
        self.org = org
        self.agentId = agentId
        self.now = now
        self.config = config
        self.sessionId = sessionId
        self.contactId = contactId
        self.channel = channel
        self.contactAddress = contactAddress
        self.orgAddress = orgAddress
        self.internalSession = internalSession
        self.makeId = makeId
    }
}

/// An event a tool call produces. The pipeline appends a call's effects together with its
/// `tool.executed`, in one atomic append, under the call's envelope (org from the context,
/// actor the agent, correlation the inbound message): a tool never writes the log itself.
public struct ToolEffect: Sendable, Hashable {
    public var stream: String
    public var event: DomainEvent

    public init(stream: String, event: DomainEvent) {
        self.stream = stream
        self.event = event
    }
}

/// What one call produced: the JSON the model receives and the events to append.
public struct ToolOutcome: Sendable {
    public var result: JSONValue
    public var effects: [ToolEffect]
    /// The call failed (`result` is `{"error": ...}`); nothing of it is appended but `tool.failed`.
    public var error: ToolError?

    public init(result: JSONValue, effects: [ToolEffect] = []) {
        self.result = result
        self.effects = effects
        self.error = nil
    }

    public init(error: ToolError) {
        self.result = error.json
        self.effects = []
        self.error = error
    }

    /// The call handed the session to a human (`handoff_tool`): the loop must stop.
    public var handsOff: Bool {
        effects.contains { if case .sessionHandedOff = $0.event { true } else { false } }
    }
}

/// Runs a tool call whose arguments already match the tool's schema.
public protocol ToolExecutor: Sendable {
    /// The result the model receives and the events the call produces; a `ToolError` is sent
    /// to the model as its `json` and produces no events.
    func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome
}

/// The executor of a tool this build declares but does not implement: it fails every call
/// plainly, so a model or a person never mistakes a missing feature for a done action.
public struct UnavailableExecutor: ToolExecutor {
    public let tool: String

    public init(tool: String) {
        self.tool = tool
    }

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        throw ToolError(.toolUnavailable, "\(tool) is not available in this build; nothing was done. Tell the person you cannot do this yet or hand off to a human.")
    }
}

/// One tool, whole: as the model sees it (name, description, argument schema), as the policy
/// sees it (action category, possibly depending on the arguments), as the activity log and the
/// replay print it (sentence), and how it runs (executor). Each tool declares its own as a
/// static member in its file; `ToolCatalog.standard` lists them.
public struct ToolDefinition: Sendable {
    public var name: String
    public var description: String
    /// The JSON Schema of the arguments, sent to the model as the function's `parameters`.
    public var parameters: JSONValue
    /// The category of the tool's most common call, for listings.
    public var baseCategory: ActionCategory
    /// The category of one call: `crm_tool` deleting is `delete_contact`, a paid booking is
    /// `financial`. Must be total over any JSON, since policy runs before validation in audits.
    public var categoryOf: @Sendable (JSONValue) -> ActionCategory
    public var sentence: ToolSentence
    /// Builds the executor over the read models it reads.
    public var makeExecutor: @Sendable (ToolEnvironment) -> any ToolExecutor

    public init(name: String, description: String, parameters: JSONValue, baseCategory: ActionCategory,
                categoryOf: (@Sendable (JSONValue) -> ActionCategory)? = nil, sentence: ToolSentence = .ranTool,
                executor: @escaping @Sendable (ToolEnvironment) -> any ToolExecutor) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.baseCategory = baseCategory
        self.categoryOf = categoryOf ?? { _ in baseCategory }
        self.sentence = sentence
        self.makeExecutor = executor
    }

    /// The OpenAI-style function declaration: `{"type": "function", "function": {...}}`.
    public var functionDeclaration: JSONValue {
        ["type": "function", "function": ["name": .string(name), "description": .string(description), "parameters": parameters]]
    }
}

/// The catalog's tools with their executors built over the read models: what the pipeline calls.
public struct ToolRegistry: Sendable {
    public let catalog: ToolCatalog
    private let executors: [String: any ToolExecutor]

    public init(catalog: ToolCatalog = .standard, environment: ToolEnvironment) {
        self.catalog = catalog
        executors = Dictionary(catalog.entries.map { ($0.name, $0.makeExecutor(environment)) }, uniquingKeysWith: { _, last in last })
    }

    public subscript(name: String) -> ToolDefinition? { catalog[name] }

    /// The executor of `name`, built over this registry's read models.
    public func executor(for name: String) -> (any ToolExecutor)? { executors[name] }

    /// Names in a stable order, for listings and for what the model is sent.
    public var names: [String] { catalog.names.sorted() }

    /// The call's category, or nil for a tool the registry lacks.
    public func category(of tool: String, arguments: JSONValue) -> ActionCategory? {
        catalog.category(of: tool, arguments: arguments)
    }

    /// Validates and runs one call. Never throws: the model always gets JSON back, either the
    /// result or `{"error": ...}`. Invalid arguments run nothing and produce no effects.
    public func call(_ tool: String, arguments: JSONValue, context: ToolContext) async -> ToolOutcome {
        guard let definition = catalog[tool], let executor = executors[tool] else {
            return ToolOutcome(error: ToolError(.unknownTool, "no tool named '\(tool)'; available: \(names.joined(separator: ", "))"))
        }
        if let error = ArgumentSchema.validate(arguments, against: definition.parameters) {
            return ToolOutcome(error: error)
        }
        do {
            return try await executor.execute(arguments: arguments, context: context)
        } catch {
            return ToolOutcome(error: error)
        }
    }

    /// The standard catalog's tools, their executors reading the `crm` read model (and
    /// `data_query_tool` running on `dataQueries` when given: the model in PostgreSQL).
    public static func standard(crm: any DatabaseReader, dataQueries: (any DataQueryRunning)? = nil) -> ToolRegistry {
        ToolRegistry(environment: ToolEnvironment(crm: crm, dataQueries: dataQueries))
    }
}
