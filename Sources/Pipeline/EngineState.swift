import Channels
import Foundation
import PurserDomain

/// One agent as the engine serves it: the config in force and its status.
struct AgentState: Sendable {
    var config: OrgAgentConfig
    var status: AgentStatus
    var revision: Int
}

/// A line of a conversation as the model is shown it.
struct TranscriptEntry: Sendable, Hashable {
    enum Speaker: String, Sendable {
        case customer, agent, human
    }

    var speaker: Speaker
    var who: String
    var text: String
}

/// A conversation as the engine keeps it while it runs: the session's identity, whether a human
/// holds it, and the last messages for the model's context.
struct SessionState: Sendable {
    var id: String
    var org: String
    var agentId: String
    var channel: Channel
    var contactAddress: String
    var orgAddress: String
    /// Where replies to the contact are addressed, as the channel's adapter says.
    var outboundAddress: String { channel.adapter.outboundAddress(contactAddress: contactAddress) }
    var contactId: String?
    var handedOff: Bool
    var handedOffTo: String?
    var isInternal: Bool
    var transcript: [TranscriptEntry]
    /// Not yet durable: its `session.opened` is still to be appended.
    var isNew: Bool

    var stream: String { EventStream.session(id) }

    mutating func remember(_ entry: TranscriptEntry, keeping limit: Int) {
        transcript.append(entry)
        if transcript.count > limit { transcript.removeFirst(transcript.count - limit) }
    }
}

/// A held action waiting for a human, as the engine needs it to carry the decision out.
struct PendingApproval: Sendable {
    var org: String
    var request: ApprovalRequested
    /// The `message.received` that started the turn, the correlation of what follows.
    var correlationId: String
    var requestedEventId: String
}

/// What the engine keeps in memory while it runs. Loaded lazily from the read models (which are
/// caught up at start), then changed only by the engine itself as it appends — it is the log's
/// one writer, so memory and log cannot drift apart.
struct EngineState: Sendable {
    var agents: [AgentRef: AgentState] = [:]
    var routes: RoutingTable = [:]
    /// Session by `org|channel|contact address`.
    var sessions: [String: SessionState] = [:]
    /// `org|session id` → the key of `sessions`.
    var sessionKeys: [String: String] = [:]
    /// `org|normalized address` → CRM contact id.
    var contacts: [String: String] = [:]
    var approvals: [String: PendingApproval] = [:]
    /// Approvals this process has claimed for a decision (decided or being decided), so a second
    /// caller gets "already decided" even before the decision is in the log.
    var claimedApprovals: [String: String] = [:]
    /// Per org, the last position that changed the crm model, so a read after a write can wait for it.
    var crmWritten: [String: UInt64] = [:]
    /// Per org, the last position this engine appended, which the sessions model must reach before a session
    /// that is not in memory is read from it.
    var sessionsWritten: [String: UInt64] = [:]
    /// Whether any session was forgotten to bound memory (only then can a miss be stale).
    var sessionsEvicted = false

    static func sessionKey(org: String, channel: Channel, contact: String) -> String {
        "\(org)|\(channel.rawValue)|\(contact)"
    }
}

/// The caps of one agent on one UTC day: what was charged, and what calls in flight reserved.
///
/// A call reserves its worst-case cost (prompt estimate plus `maxTokens` at the model's price)
/// and, for a turn's first call, one message, before it starts; the reservation is refused when
/// charged + reserved + asked would pass a cap, so however many sessions run at once the sum
/// stays under it. After the call the reservation is settled with the reported cost.
struct SpendLedger: Sendable {
    struct Day: Sendable {
        var chargedUsd: Double = 0
        var chargedMessages: Int = 0
        var reservedUsd: Double = 0
        var reservedMessages: Int = 0
        /// A reservation was refused today: a cap tripped, so nothing more goes out on its own.
        var tripped = false
    }

    struct Reservation: Sendable, Hashable {
        var id: String
        var key: String
        var day: String
        var usd: Double
        var messages: Int
    }

    enum Refusal: Error, Sendable {
        case messages(limit: Int, used: Int)
        case cost(limit: Double, used: Double, asked: Double)
    }

    var days: [String: Day] = [:]

    static func key(org: String, agentId: String, day: String) -> String { "\(org)|\(agentId)|\(day)" }

    mutating func reserve(key: String, day: String, id: String, usd: Double, messages: Int,
                          maxUsd: Double, maxMessages: Int) -> Result<Reservation, Refusal> {
        var entry = days[key, default: Day()]
        let messagesUsed = entry.chargedMessages + entry.reservedMessages
        if messages > 0, messagesUsed + messages > maxMessages {
            days[key, default: Day()].tripped = true
            return .failure(.messages(limit: maxMessages, used: messagesUsed))
        }
        let usdUsed = entry.chargedUsd + entry.reservedUsd
        if SpendCap.isOver(usdUsed + usd, cap: maxUsd) {
            days[key, default: Day()].tripped = true
            return .failure(.cost(limit: maxUsd, used: usdUsed, asked: usd))
        }
        entry.reservedUsd += usd
        entry.reservedMessages += messages
        days[key] = entry
        return .success(Reservation(id: id, key: key, day: day, usd: usd, messages: messages))
    }

    /// Replaces the reservation by what the call really cost (and the message, if it was used).
    mutating func settle(_ reservation: Reservation, usd: Double, messages: Int) {
        var entry = days[reservation.key, default: Day()]
        entry.reservedUsd = max(0, entry.reservedUsd - reservation.usd)
        entry.reservedMessages = max(0, entry.reservedMessages - reservation.messages)
        entry.chargedUsd += usd
        entry.chargedMessages += messages
        days[reservation.key] = entry
    }

    /// Whether the day's caps leave nothing for an automatic send: a reservation was refused
    /// today, or the charged messages or dollars have reached their cap.
    func exhausted(key: String, maxUsd: Double, maxMessages: Int) -> Bool {
        guard let entry = days[key] else { return false }
        return entry.tripped || entry.chargedMessages >= maxMessages || SpendCap.isReached(entry.chargedUsd, cap: maxUsd)
    }

    mutating func release(_ reservation: Reservation) {
        settle(reservation, usd: 0, messages: 0)
    }
}
