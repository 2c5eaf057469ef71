import Foundation

/// A decoded event payload: one case per type of the catalog, each holding the current version
/// of its struct, so a consumer's `switch` is checked for completeness when a type is added.
/// Types this build does not know stay readable as `.unknown` with their raw bytes.
public enum DomainEvent: Sendable, Hashable {
    case agentConfigured(AgentConfigured)
    case agentStatusChanged(AgentStatusChanged)
    case objectCreated(ObjectCreated)
    case objectUpdated(ObjectUpdated)
    case objectDeleted(ObjectDeleted)
    case linkCreated(LinkCreated)
    case linkDeleted(LinkDeleted)
    case messageReceived(MessageReceived)
    case messageRejected(MessageRejected)
    case messageUnrouted(MessageUnrouted)
    case contactResolved(ContactResolved)
    case sessionOpened(SessionOpened)
    case sessionHandedOff(SessionHandedOff)
    case sessionReleased(SessionReleased)
    case sessionClosed(SessionClosed)
    case llmCompleted(LLMCompleted)
    case llmFailed(LLMFailed)
    case toolRequested(ToolRequested)
    case toolDenied(ToolDenied)
    case toolExecuted(ToolExecuted)
    case toolFailed(ToolFailed)
    case approvalRequested(ApprovalRequested)
    case approvalGranted(ApprovalGranted)
    case approvalRejected(ApprovalRejected)
    case approvalExpired(ApprovalExpired)
    case messageDrafted(MessageDrafted)
    case messageSent(MessageSent)
    case messageDelivered(MessageDelivered)
    case costCharged(CostCharged)
    case guardrailTripped(GuardrailTripped)
    /// A type this build does not know (written by a newer Purser, or by a tool appending its
    /// own types); kept as written.
    case unknown(type: String, version: Int, data: Data)

    /// The payload, or `nil` for `.unknown`.
    public var payload: (any EventPayload)? {
        switch self {
        case .agentConfigured(let payload): payload
        case .agentStatusChanged(let payload): payload
        case .objectCreated(let payload): payload
        case .objectUpdated(let payload): payload
        case .objectDeleted(let payload): payload
        case .linkCreated(let payload): payload
        case .linkDeleted(let payload): payload
        case .messageReceived(let payload): payload
        case .messageRejected(let payload): payload
        case .messageUnrouted(let payload): payload
        case .contactResolved(let payload): payload
        case .sessionOpened(let payload): payload
        case .sessionHandedOff(let payload): payload
        case .sessionReleased(let payload): payload
        case .sessionClosed(let payload): payload
        case .llmCompleted(let payload): payload
        case .llmFailed(let payload): payload
        case .toolRequested(let payload): payload
        case .toolDenied(let payload): payload
        case .toolExecuted(let payload): payload
        case .toolFailed(let payload): payload
        case .approvalRequested(let payload): payload
        case .approvalGranted(let payload): payload
        case .approvalRejected(let payload): payload
        case .approvalExpired(let payload): payload
        case .messageDrafted(let payload): payload
        case .messageSent(let payload): payload
        case .messageDelivered(let payload): payload
        case .costCharged(let payload): payload
        case .guardrailTripped(let payload): payload
        case .unknown: nil
        }
    }

    /// The envelope `type`.
    public var type: String {
        if case .unknown(let type, _, _) = self { return type }
        return payload.map { Swift.type(of: $0).type } ?? ""
    }

    /// The envelope `v`: the current version for known types, as written for unknown ones.
    public var version: Int {
        if case .unknown(_, let version, _) = self { return version }
        return payload.map { Swift.type(of: $0).version } ?? 0
    }
}

extension EventCatalog {
    /// One entry per event type; the single list that ties type names to payload structs.
    static let entries: [Entry] = [
        entry(AgentConfigured.self) { .agentConfigured($0) },
        entry(AgentStatusChanged.self) { .agentStatusChanged($0) },
        entry(ObjectCreated.self) { .objectCreated($0) },
        entry(ObjectUpdated.self) { .objectUpdated($0) },
        entry(ObjectDeleted.self) { .objectDeleted($0) },
        entry(LinkCreated.self) { .linkCreated($0) },
        entry(LinkDeleted.self) { .linkDeleted($0) },
        entry(MessageReceived.self) { .messageReceived($0) },
        entry(MessageRejected.self) { .messageRejected($0) },
        entry(MessageUnrouted.self) { .messageUnrouted($0) },
        entry(ContactResolved.self) { .contactResolved($0) },
        entry(SessionOpened.self) { .sessionOpened($0) },
        entry(SessionHandedOff.self) { .sessionHandedOff($0) },
        entry(SessionReleased.self) { .sessionReleased($0) },
        entry(SessionClosed.self) { .sessionClosed($0) },
        entry(LLMCompleted.self) { .llmCompleted($0) },
        entry(LLMFailed.self) { .llmFailed($0) },
        entry(ToolRequested.self) { .toolRequested($0) },
        entry(ToolDenied.self) { .toolDenied($0) },
        entry(ToolExecuted.self) { .toolExecuted($0) },
        entry(ToolFailed.self) { .toolFailed($0) },
        entry(ApprovalRequested.self) { .approvalRequested($0) },
        entry(ApprovalGranted.self) { .approvalGranted($0) },
        entry(ApprovalRejected.self) { .approvalRejected($0) },
        entry(ApprovalExpired.self) { .approvalExpired($0) },
        entry(MessageDrafted.self) { .messageDrafted($0) },
        entry(MessageSent.self) { .messageSent($0) },
        entry(MessageDelivered.self) { .messageDelivered($0) },
        entry(CostCharged.self) { .costCharged($0) },
        entry(GuardrailTripped.self) { .guardrailTripped($0) },
    ]
}
