import Foundation
import PurserCore

/// The agent wants to do something a human must approve first: a tool call whose category is in
/// `requireApprovalFor`, or a reply under `supervised`.
public struct ApprovalRequested: EventPayload {
    public static let type = "approval.requested"
    public static let version = 1

    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case toolCall = "tool_call"
        case reply
    }

    public var approvalId: String
    public var agentId: String
    public var sessionId: String?
    public var kind: Kind
    /// For a tool call: its call id, tool and arguments.
    public var callId: String?
    public var tool: String?
    public var arguments: JSONValue?
    /// For a reply: the drafted text and its outbox id.
    public var replyText: String?
    public var messageId: String?
    public var category: ActionCategory?
    /// The rule that requires approval, e.g. "requireApprovalFor: financial", "autonomyLevel: supervised".
    public var rule: String
    /// What exactly the agent wants to do, for the approver ("create booking for €450").
    public var summary: String
    /// When it expires closed if nobody decides.
    public var expiresAt: Timestamp

    public init(approvalId: String, agentId: String, sessionId: String? = nil, kind: Kind, callId: String? = nil,
                tool: String? = nil, arguments: JSONValue? = nil, replyText: String? = nil, messageId: String? = nil,
                category: ActionCategory? = nil, rule: String, summary: String, expiresAt: Timestamp) {
        self.approvalId = approvalId
        self.agentId = agentId
        self.sessionId = sessionId
        self.kind = kind
        self.callId = callId
        self.tool = tool
        self.arguments = arguments
        self.replyText = replyText
        self.messageId = messageId
        self.category = category
        self.rule = rule
        self.summary = summary
        self.expiresAt = expiresAt
    }
}

/// A human approved, possibly after editing. The held tool call runs (or the reply is sent) with
/// the edited version when there is one.
public struct ApprovalGranted: EventPayload {
    public static let type = "approval.granted"
    public static let version = 1

    public var approvalId: String
    /// Who decided (the human actor's id).
    public var decidedBy: String
    /// Replacement tool arguments, when the approver changed them.
    public var editedArguments: JSONValue?
    /// Replacement reply text, when the approver changed it.
    public var editedText: String?
    /// The edit as field changes from the requested version; empty when approved unchanged.
    public var diff: [FieldChange]

    public init(approvalId: String, decidedBy: String, editedArguments: JSONValue? = nil, editedText: String? = nil,
                diff: [FieldChange] = []) {
        self.approvalId = approvalId
        self.decidedBy = decidedBy
        self.editedArguments = editedArguments
        self.editedText = editedText
        self.diff = diff
    }

    public var wasEdited: Bool { editedArguments != nil || editedText != nil }
}

/// A human refused; the reason is fed back to the agent.
public struct ApprovalRejected: EventPayload {
    public static let type = "approval.rejected"
    public static let version = 1

    public var approvalId: String
    public var decidedBy: String
    public var reason: String?

    public init(approvalId: String, decidedBy: String, reason: String? = nil) {
        self.approvalId = approvalId
        self.decidedBy = decidedBy
        self.reason = reason
    }
}

/// Nobody decided before `expiresAt`; the approval closes as not granted.
public struct ApprovalExpired: EventPayload {
    public static let type = "approval.expired"
    public static let version = 1

    public var approvalId: String
    public var expiresAt: Timestamp

    public init(approvalId: String, expiresAt: Timestamp) {
        self.approvalId = approvalId
        self.expiresAt = expiresAt
    }
}

/// Spend settled against an agent's daily caps, after an LLM call (or released when it failed,
/// with zero usage). The reservation made before the call is replaced by these actual figures.
public struct CostCharged: EventPayload {
    public static let type = "cost.charged"
    public static let version = 1

    public var agentId: String
    public var sessionId: String?
    /// The UTC day charged, `YYYY-MM-DD`.
    public var day: String
    /// Actual cost in USD.
    public var usd: Double
    /// Prompt plus completion tokens.
    public var tokens: Int
    public var promptTokens: Int
    public var completionTokens: Int
    /// How many messages this counts against `maxMessagesPerDay` (1 for the first call on an
    /// inbound message, 0 for later rounds of its tool loop).
    public var messages: Int
    public var model: String
    public var reservationId: String
    /// What was reserved before the call (the worst case), now settled.
    public var reservedUsd: Double
    public var generationId: String?

    public init(agentId: String, sessionId: String? = nil, day: String, usd: Double, tokens: Int, promptTokens: Int,
                completionTokens: Int, messages: Int, model: String, reservationId: String, reservedUsd: Double,
                generationId: String? = nil) {
        self.agentId = agentId
        self.sessionId = sessionId
        self.day = day
        self.usd = usd
        self.tokens = tokens
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.messages = messages
        self.model = model
        self.reservationId = reservationId
        self.reservedUsd = reservedUsd
        self.generationId = generationId
    }
}

/// A guardrail stopped the agent; the session goes to a human.
public struct GuardrailTripped: EventPayload {
    public static let type = "guardrail.tripped"
    public static let version = 1

    public enum Guardrail: String, Sendable, Hashable, Codable, CaseIterable {
        case maxMessagesPerDay = "max_messages_per_day"
        case maxCostPerDay = "max_cost_per_day"
        case blockedTopic = "blocked_topic"
        case agentPaused = "agent_paused"
        case agentDraft = "agent_draft"
        case maxToolIterations = "max_tool_iterations"
    }

    public var agentId: String
    public var sessionId: String?
    public var guardrail: Guardrail
    /// What happened, for the activity log.
    public var detail: String
    /// The cap, for the two daily caps.
    public var limit: Double?
    /// The figure that would have gone over it (spent or reserved so far plus this call).
    public var observed: Double?
    /// The blocked topic that matched.
    public var topic: String?

    public init(agentId: String, sessionId: String? = nil, guardrail: Guardrail, detail: String, limit: Double? = nil,
                observed: Double? = nil, topic: String? = nil) {
        self.agentId = agentId
        self.sessionId = sessionId
        self.guardrail = guardrail
        self.detail = detail
        self.limit = limit
        self.observed = observed
        self.topic = topic
    }
}
