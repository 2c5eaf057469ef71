import Foundation
import PurserDomain

/// A model as an agent config names it: `modelProvider` and `modelId`.
///
/// Each provider turns it into the id its server expects (`LLMProvider.modelID(for:)`); OpenRouter
/// ids are derived by `ModelIDMapper`.
public struct ModelRef: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The vendor as the config says it, e.g. `anthropic`, `openai`.
    public var provider: String
    /// The vendor's model id, e.g. `claude-sonnet-4-20250514`, or an already namespaced id such
    /// as `anthropic/claude-sonnet-4`.
    public var id: String

    public init(provider: String, id: String) {
        self.provider = provider
        self.id = id
    }

    public var description: String { "\(provider)/\(id)" }
}

/// A tool call the model asked for.
public struct ToolCall: Sendable, Hashable, Codable {
    /// The model's id for the call; the tool result message must echo it.
    public var id: String
    public var name: String
    /// The arguments exactly as the model sent them: a JSON text that is usually, but not
    /// always, a valid JSON object. Parsing and rejecting bad arguments is the caller's job, so
    /// a malformed call can be recorded and fed back to the model as an error.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// One message of a conversation sent to the model.
public struct ChatMessage: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
        case system
        case user
        case assistant
        case tool
    }

    public var role: Role
    /// The text; `nil` for an assistant message that only calls tools.
    public var content: String?
    /// The calls an assistant message made (replayed so the model sees its own tool use).
    public var toolCalls: [ToolCall]
    /// For a `tool` message: the id of the call this is the result of.
    public var toolCallId: String?

    public init(role: Role, content: String?, toolCalls: [ToolCall] = [], toolCallId: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallId = toolCallId
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
    public static func assistant(_ text: String?, toolCalls: [ToolCall] = []) -> ChatMessage {
        ChatMessage(role: .assistant, content: text, toolCalls: toolCalls)
    }
    /// The result of the tool call `callId`, as the text (usually JSON) fed back to the model.
    public static func tool(callId: String, content: String) -> ChatMessage {
        ChatMessage(role: .tool, content: content, toolCallId: callId)
    }
}

/// A function the model may call, described by a JSON Schema for its arguments.
public struct ToolDefinition: Sendable, Hashable, Codable {
    public var name: String
    /// What the tool does, written for the model.
    public var description: String
    /// A JSON Schema object for the arguments.
    public var parameters: JSONValue

    public init(name: String, description: String, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// What the agent knows, in structured form, for providers that cannot read a prompt.
///
/// Network providers ignore it: the pipeline has already written the same facts into the system
/// prompt. The offline provider has no model to read that prompt, so it answers from these
/// entries instead.
public struct Grounding: Sendable, Hashable, Codable {
    /// A knowledge document the agent may cite.
    public struct Document: Sendable, Hashable, Codable {
        public var id: String
        public var title: String
        public var text: String

        public init(id: String, title: String = "", text: String) {
            self.id = id
            self.title = title
            self.text = text
        }
    }

    /// BCP-47 tag of the agent's primary language, e.g. `de`.
    public var language: String
    /// Further languages the agent serves; a customer writing in one of these is answered in it
    /// where the provider can choose.
    public var additionalLanguages: [String]
    public var faq: [FAQEntry]
    public var documents: [Document]

    public init(language: String, additionalLanguages: [String] = [], faq: [FAQEntry] = [], documents: [Document] = []) {
        self.language = language
        self.additionalLanguages = additionalLanguages
        self.faq = faq
        self.documents = documents
    }
}

/// One chat-completion call.
public struct ChatRequest: Sendable, Hashable {
    public var model: ModelRef
    public var messages: [ChatMessage]
    /// The tools the policy allows for this call; empty means the model may not call any.
    public var tools: [ToolDefinition]
    public var temperature: Double?
    /// The most completion tokens the model may produce; also what the worst-case cost
    /// reservation is computed from.
    public var maxTokens: Int?
    public var grounding: Grounding?

    public init(model: ModelRef, messages: [ChatMessage], tools: [ToolDefinition] = [], temperature: Double? = nil,
                maxTokens: Int? = nil, grounding: Grounding? = nil) {
        self.model = model
        self.messages = messages
        self.tools = tools
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.grounding = grounding
    }
}

/// Token counts as the provider reported them.
public struct TokenUsage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// USD, when the provider reported it (OpenRouter's `usage.cost`).
    public var cost: Double?

    public init(promptTokens: Int, completionTokens: Int, cost: Double? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
    }

    public var totalTokens: Int { promptTokens + completionTokens }
}

/// Where a response's `costUsd` came from; the raw values match `LLMCompleted.CostSource`.
public enum CostSource: String, Sendable, Hashable, Codable, CaseIterable {
    /// The provider's `usage.cost`.
    case reported
    /// Tokens times the price table.
    case priceTable = "price_table"
    /// No cost: the offline provider.
    case free
}

/// The offline provider's decision that a human should answer.
public struct Handoff: Sendable, Hashable, Codable {
    /// Why, for the operator (e.g. "no FAQ entry or document matches the question").
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }
}

/// A completed chat-completion call.
public struct ChatResponse: Sendable, Hashable {
    /// The assistant's text, if any.
    public var text: String?
    public var toolCalls: [ToolCall]
    public var usage: TokenUsage
    /// USD charged for this call: `usage.cost` when reported, else the price table's figure.
    public var costUsd: Double
    public var costSource: CostSource
    /// The provider's id for the completion (OpenRouter's generation id).
    public var generationId: String?
    /// The model that actually ran, as the server named it.
    public var model: String
    /// `stop`, `tool_calls`, `length`, `content_filter`, or `handoff` for the offline provider.
    public var finishReason: String?
    /// Wall-clock time of the whole call, retries and waits included.
    public var latencyMs: Double
    /// Requests sent, 1 when the first succeeded.
    public var attempts: Int
    /// Set when the provider decided a human must answer (only the offline provider does); the
    /// `text` then holds a short message for the customer in the agent's language.
    public var handoff: Handoff?

    public init(text: String?, toolCalls: [ToolCall] = [], usage: TokenUsage, costUsd: Double, costSource: CostSource,
                generationId: String? = nil, model: String, finishReason: String? = nil, latencyMs: Double,
                attempts: Int = 1, handoff: Handoff? = nil) {
        self.text = text
        self.toolCalls = toolCalls
        self.usage = usage
        self.costUsd = costUsd
        self.costSource = costSource
        self.generationId = generationId
        self.model = model
        self.finishReason = finishReason
        self.latencyMs = latencyMs
        self.attempts = attempts
        self.handoff = handoff
    }
}

/// Which kind of provider runs the calls; the raw values are `LLMCompleted.provider`'s.
public enum ProviderKind: String, Sendable, Hashable, Codable, CaseIterable {
    case openRouter = "openrouter"
    case openAICompatible = "openai_compatible"
    case offline
}

/// Something that completes chats.
public protocol LLMProvider: Sendable {
    var kind: ProviderKind { get }

    /// The model id this provider sends for `model`; use it to price reservations
    /// (`PriceTable.worstCaseCost`) before calling `complete`.
    func modelID(for model: ModelRef) -> String

    /// Runs one chat completion, retrying transient failures. Throws `LLMError` once the call has
    /// finally failed; the error says how many attempts were made and the last HTTP status.
    func complete(_ request: ChatRequest) async throws(LLMError) -> ChatResponse
}
