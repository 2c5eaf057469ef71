import Foundation

/// One LLM call that returned. Its cost is charged by the `cost.charged` that follows with the
/// same `reservationId`.
public struct LLMCompleted: EventPayload {
    public static let type = "llm.completed"
    public static let version = 1

    public enum CostSource: String, Sendable, Hashable, Codable, CaseIterable {
        /// The provider's `usage.cost`.
        case reported
        /// Tokens times the price table.
        case priceTable = "price_table"
        /// No cost: the offline provider.
        case free
    }

    public var agentId: String
    public var sessionId: String?
    /// `openrouter`, `openai_compatible`, `offline`.
    public var provider: String
    /// The model id the provider ran.
    public var model: String
    /// The provider's id for the completion.
    public var generationId: String?
    public var promptTokens: Int
    public var completionTokens: Int
    public var costUsd: Double
    public var costSource: CostSource
    public var latencyMs: Double
    /// `stop`, `tool_calls`, `length`...
    public var finishReason: String?
    /// 0 for the first call on a message, then one more per round of the tool loop.
    public var iteration: Int
    /// The assistant's text, if any.
    public var content: String?
    /// The ids of the tool calls the model asked for; each has its `tool.requested`.
    public var toolCallIds: [String]
    public var reservationId: String?

    public init(agentId: String, sessionId: String? = nil, provider: String, model: String, generationId: String? = nil,
                promptTokens: Int, completionTokens: Int, costUsd: Double, costSource: CostSource, latencyMs: Double,
                finishReason: String? = nil, iteration: Int = 0, content: String? = nil, toolCallIds: [String] = [],
                reservationId: String? = nil) {
        self.agentId = agentId
        self.sessionId = sessionId
        self.provider = provider
        self.model = model
        self.generationId = generationId
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUsd = costUsd
        self.costSource = costSource
        self.latencyMs = latencyMs
        self.finishReason = finishReason
        self.iteration = iteration
        self.content = content
        self.toolCallIds = toolCallIds
        self.reservationId = reservationId
    }

    public var totalTokens: Int { promptTokens + completionTokens }
}

/// An LLM call that failed after its retries. The message is not lost: the session is handed to
/// a human.
public struct LLMFailed: EventPayload {
    public static let type = "llm.failed"
    public static let version = 1

    public var agentId: String
    public var sessionId: String?
    public var provider: String
    public var model: String
    /// What went wrong, e.g. "HTTP 503 after 4 attempts".
    public var error: String
    public var httpStatus: Int?
    public var attempts: Int
    public var latencyMs: Double
    /// The reservation released by this failure.
    public var reservationId: String?

    public init(agentId: String, sessionId: String? = nil, provider: String, model: String, error: String,
                httpStatus: Int? = nil, attempts: Int, latencyMs: Double, reservationId: String? = nil) {
        self.agentId = agentId
        self.sessionId = sessionId
        self.provider = provider
        self.model = model
        self.error = error
        self.httpStatus = httpStatus
        self.attempts = attempts
        self.latencyMs = latencyMs
        self.reservationId = reservationId
    }
}

/// The model asked for a tool call. The policy's decision follows: `tool.executed`/`tool.failed`,
/// `tool.denied`, or `approval.requested`.
public struct ToolRequested: EventPayload {
    public static let type = "tool.requested"
    public static let version = 1

    public var agentId: String
    public var sessionId: String?
    /// The model's id for the call, echoed in the events that follow.
    public var callId: String
    public var tool: String
    /// The arguments as parsed. When the model's argument text is not valid JSON it is kept as
    /// a JSON string (and the call is denied with rule `invalid_arguments`).
    public var arguments: JSONValue
    /// The action category the tool registry assigns to this call.
    public var category: ActionCategory?

    public init(agentId: String, sessionId: String? = nil, callId: String, tool: String, arguments: JSONValue,
                category: ActionCategory? = nil) {
        self.agentId = agentId
        self.sessionId = sessionId
        self.callId = callId
        self.tool = tool
        self.arguments = arguments
        self.category = category
    }
}

/// The policy refused a tool call; the reason is fed back to the model.
public struct ToolDenied: EventPayload {
    public static let type = "tool.denied"
    public static let version = 1

    public var agentId: String
    public var sessionId: String?
    public var callId: String
    public var tool: String
    /// The rule that decided: `disabled`, `not_enabled`, `unknown_tool`, `invalid_arguments`,
    /// `draft_only`, `approval_rejected`, `approval_expired`.
    public var rule: String
    /// The text fed back to the model.
    public var reason: String

    public init(agentId: String, sessionId: String? = nil, callId: String, tool: String, rule: String, reason: String) {
        self.agentId = agentId
        self.sessionId = sessionId
        self.callId = callId
        self.tool = tool
        self.rule = rule
        self.reason = reason
    }
}

/// A tool call ran and returned a result, which is fed back to the model.
public struct ToolExecuted: EventPayload {
    public static let type = "tool.executed"
    public static let version = 1

    public var agentId: String
    public var sessionId: String?
    public var callId: String
    public var tool: String
    /// The arguments it ran with (after an approver's edit, if any).
    public var arguments: JSONValue
    public var result: JSONValue
    public var durationMs: Double
    /// The approval that allowed it, when one was needed.
    public var approvalId: String?

    public init(agentId: String, sessionId: String? = nil, callId: String, tool: String, arguments: JSONValue,
                result: JSONValue, durationMs: Double, approvalId: String? = nil) {
        self.agentId = agentId
        self.sessionId = sessionId
        self.callId = callId
        self.tool = tool
        self.arguments = arguments
        self.result = result
        self.durationMs = durationMs
        self.approvalId = approvalId
    }
}

/// A tool call was allowed but failed (bad query, booking conflict, store error). The error is
/// fed back to the model; nothing was half-done.
public struct ToolFailed: EventPayload {
    public static let type = "tool.failed"
    public static let version = 1

    public var agentId: String
    public var sessionId: String?
    public var callId: String
    public var tool: String
    public var arguments: JSONValue
    /// What the model is told.
    public var error: String
    /// The tool's error code, e.g. `invalid_field`, `conflict`.
    public var code: String?
    public var durationMs: Double
    public var approvalId: String?

    public init(agentId: String, sessionId: String? = nil, callId: String, tool: String, arguments: JSONValue,
                error: String, code: String? = nil, durationMs: Double, approvalId: String? = nil) {
        self.agentId = agentId
        self.sessionId = sessionId
        self.callId = callId
        self.tool = tool
        self.arguments = arguments
        self.error = error
        self.code = code
        self.durationMs = durationMs
        self.approvalId = approvalId
    }
}
