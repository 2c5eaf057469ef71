import Channels
import Foundation

/// The sender of an inbound message was matched to a CRM contact of the org, or one was created.
public struct ContactResolved: EventPayload {
    public static let type = "contact.resolved"
    public static let version = 1

    public enum Match: String, Sendable, Hashable, Codable, CaseIterable {
        /// Found by normalized E.164 phone number.
        case phone
        /// Found by lowercased email address.
        case email
        /// Found by another channel identifier (webchat visitor id, Instagram handle).
        case externalId = "external_id"
        /// No contact matched; a new `crm_contact` was created (its `object.created` precedes
        /// this event).
        case created
    }

    public var channel: Channel
    /// The sender's normalized address on the channel.
    public var externalContactId: String
    /// The id of the `crm_contact` object in the org's ontology.
    public var crmContactId: String
    public var matchedBy: Match
    public var sessionId: String?

    public init(channel: Channel, externalContactId: String, crmContactId: String, matchedBy: Match, sessionId: String? = nil) {
        self.channel = channel
        self.externalContactId = externalContactId
        self.crmContactId = crmContactId
        self.matchedBy = matchedBy
        self.sessionId = sessionId
    }

    public var createdContact: Bool { matchedBy == .created }
}

/// A conversation began: the first message from a contact on a channel (the session key is org +
/// channel + contact) or the first after the previous session was closed.
public struct SessionOpened: EventPayload {
    public static let type = "session.opened"
    public static let version = 1

    public var sessionId: String
    public var agentId: String
    public var channel: Channel
    /// The customer's normalized address on the channel.
    public var externalContactId: String
    /// The linked CRM contact, when resolved.
    public var crmContactId: String?
    /// Staff talking to their own agent from the dashboard: same tools and policy, no outbound
    /// delivery.
    public var internalSession: Bool

    public init(sessionId: String, agentId: String, channel: Channel, externalContactId: String,
                crmContactId: String? = nil, internalSession: Bool = false) {
        self.sessionId = sessionId
        self.agentId = agentId
        self.channel = channel
        self.externalContactId = externalContactId
        self.crmContactId = crmContactId
        self.internalSession = internalSession
    }

    enum CodingKeys: String, CodingKey {
        case sessionId, agentId, channel, externalContactId, crmContactId, internalSession
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sessionId = try c.decode(String.self, forKey: .sessionId)
        agentId = try c.decode(String.self, forKey: .agentId)
        channel = try c.decode(Channel.self, forKey: .channel)
        externalContactId = try c.decode(String.self, forKey: .externalContactId)
        crmContactId = try c.decodeIfPresent(String.self, forKey: .crmContactId)
        internalSession = try c.decodeIfPresent(Bool.self, forKey: .internalSession) ?? false
    }
}

/// A session passed to a human; the agent sends nothing in it until `session.released`.
public struct SessionHandedOff: EventPayload {
    public static let type = "session.handed_off"
    public static let version = 1

    public enum Trigger: String, Sendable, Hashable, Codable, CaseIterable {
        /// An operator took the conversation over.
        case takeover
        /// A guardrail tripped (see the preceding `guardrail.tripped`).
        case guardrail
        /// The LLM call failed for good.
        case llmFailed = "llm_failed"
        /// The agent called `handoff_tool`.
        case handoffTool = "handoff_tool"
        /// The offline provider found no answer in the FAQ and knowledge docs.
        case unanswered
    }

    public var sessionId: String
    public var trigger: Trigger
    /// Why, for the operator who picks the session up.
    public var reason: String
    /// The person who took over, when a specific one did.
    public var handedOffTo: String?

    public init(sessionId: String, trigger: Trigger, reason: String, handedOffTo: String? = nil) {
        self.sessionId = sessionId
        self.trigger = trigger
        self.reason = reason
        self.handedOffTo = handedOffTo
    }
}

/// A human gave the session back to the agent, which resumes with the human's part of the
/// transcript in its context.
public struct SessionReleased: EventPayload {
    public static let type = "session.released"
    public static let version = 1

    public var sessionId: String
    public var releasedBy: String

    public init(sessionId: String, releasedBy: String) {
        self.sessionId = sessionId
        self.releasedBy = releasedBy
    }
}

/// A session ended; the contact's next message opens a new one.
public struct SessionClosed: EventPayload {
    public static let type = "session.closed"
    public static let version = 1

    public var sessionId: String
    /// e.g. "closed by operator", "inactive for 24h".
    public var reason: String

    public init(sessionId: String, reason: String) {
        self.sessionId = sessionId
        self.reason = reason
    }
}
