import Foundation
import PurserDomain

/// What became of one input: the JSON line `purser ingest` prints for it.
public struct TurnOutcome: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The agent's reply went to the outbox.
        case sent
        /// The reply was kept as a draft (`draft_only`).
        case drafted
        /// The reply or a tool call waits for a human's approval.
        case held
        /// A human has the session (taken over, or handed off now); the agent stays silent.
        case handedOff = "handed_off"
        /// A guardrail stopped the agent (paused, blocked topic, caps).
        case blocked
        /// The input is not a message (invalid line, status update); kept as `message.rejected`.
        case rejected
        /// No agent binds the address; kept as `message.unrouted`.
        case unrouted
        /// The same message was already processed; nothing was done.
        case duplicate
        /// The engine failed to process it (the log refused an append); the input must be fed again.
        case failed
    }

    public var kind: Kind
    public var org: String?
    public var agentId: String?
    public var sessionId: String?
    /// The `message.received` event id (or the rejected/unrouted event's id).
    public var messageId: String?
    public var reply: String?
    public var replyId: String?
    public var approvalId: String?
    public var reason: String?
    /// Where the input came from (`FILE:LINE`).
    public var source: String?
    /// Whether `reply` went out to the customer (`message.sent`); a notice of a blocked or
    /// handed-off turn may have been drafted or held instead. What an anonymous caller may see.
    public var replySent = false
    /// The engine's own time on this input (waiting for its turn in the conversation excluded),
    /// and the part of it spent waiting for the model; for benchmarks, not printed.
    public var engineNanos: UInt64 = 0
    public var modelWaitNanos: UInt64 = 0

    public init(_ kind: Kind, org: String? = nil, agentId: String? = nil, sessionId: String? = nil, messageId: String? = nil,
                reply: String? = nil, replyId: String? = nil, approvalId: String? = nil, reason: String? = nil, source: String? = nil) {
        self.kind = kind
        self.org = org
        self.agentId = agentId
        self.sessionId = sessionId
        self.messageId = messageId
        self.reply = reply
        self.replyId = replyId
        self.approvalId = approvalId
        self.reason = reason
        self.source = source
        self.replySent = kind == .sent && reply != nil
    }

    public var json: JSONValue {
        var fields: [String: JSONValue] = ["outcome": .string(kind.rawValue)]
        func put(_ key: String, _ value: String?) { if let value { fields[key] = .string(value) } }
        put("source", source)
        put("org", org)
        put("agentId", agentId)
        put("sessionId", sessionId)
        put("messageId", messageId)
        put("reply", reply)
        put("replyId", replyId)
        put("approvalId", approvalId)
        put("reason", reason)
        if reply != nil { fields["replySent"] = .bool(replySent) }
        return .object(fields)
    }
}
