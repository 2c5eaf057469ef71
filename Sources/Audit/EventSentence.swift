import Foundation
import PurserDomain
import Tools

/// A sentence for a person per event type, the lines of `purser replay`'s text form ("Queried 3
/// bookings for next week"). Every type of the catalog has one; a type this build does not know
/// gets a neutral fallback naming it, so a newer log still replays.
public enum EventSentence {
    /// Longest quoted text in a sentence, in characters: a replay is read line by line, and a
    /// whole email body would drown the rest.
    public static let quoteCharactersMax = 80

    public static func describe(_ event: DomainEvent) -> String {
        switch event {
        case .agentConfigured(let p):
            let c = p.config.customProperties
            return "Configured agent \(p.agentId) (revision \(p.revision)): \(p.config.status.rawValue), \(c.autonomyLevel.rawValue), "
                + "tools \(c.enabledTools.isEmpty ? "none" : c.enabledTools.joined(separator: ", "))"
                + (c.disabledTools.isEmpty ? "" : " (disabled: \(c.disabledTools.joined(separator: ", ")))")
                + "; approval for \(c.requireApprovalFor.isEmpty ? "nothing" : c.requireApprovalFor.map(\.rawValue).joined(separator: ", "))"
                + "; caps \(c.maxMessagesPerDay) messages and \(usd(c.maxCostPerDay)) per day"
        case .agentStatusChanged(let p):
            return "Changed agent \(p.agentId) from \(p.from.rawValue) to \(p.to.rawValue)" + (p.reason.map { ": \(quote($0))" } ?? "")
        case .objectCreated(let p):
            return "Created \(objectLabel(p.object))"
        case .objectUpdated(let p):
            return "Updated \(objectLabel(p.object))" + (p.changedFields.isEmpty ? "" : " (\(p.changedFields.joined(separator: ", ")))")
        case .objectDeleted(let p):
            return "Deleted \(p.objectType) \(p.id)" + (p.reason.map { ": \(quote($0))" } ?? "")
        case .linkCreated(let p):
            return "Linked \(p.link.from) → \(p.link.to) (\(p.link.linkType))"
        case .linkDeleted(let p):
            return "Unlinked \(p.link.from) → \(p.link.to) (\(p.link.linkType))"
        case .messageReceived(let p):
            let subject = p.subject.map { " [\($0)]" } ?? ""
            let attachments = p.attachments.isEmpty ? "" : " (+\(p.attachments.count) attachment\(p.attachments.count == 1 ? "" : "s"))"
            return "Wrote on \(p.channel.rawValue) from \(p.from)\(p.contactName.map { " (\($0))" } ?? ""): \(quote(p.text))\(subject)\(attachments)"
        case .messageRejected(let p):
            return "Rejected input\(p.source.map { " from \($0)" } ?? "")\(p.lineNumber.map { " line \($0)" } ?? ""): \(p.code) — \(p.reason)"
        case .messageUnrouted(let p):
            return "Unrouted \(p.channel.rawValue) message from \(p.from) to \(p.to): \(p.reason)"
        case .contactResolved(let p):
            return p.createdContact
                ? "Created contact \(p.crmContactId) for \(p.externalContactId)"
                : "Recognized \(p.externalContactId) as contact \(p.crmContactId) (by \(p.matchedBy.rawValue))"
        case .sessionOpened(let p):
            return "Opened session \(p.sessionId) on \(p.channel.rawValue) with \(p.externalContactId) for agent \(p.agentId)"
                + (p.internalSession ? " (internal)" : "")
        case .sessionHandedOff(let p):
            return "Handed the session to \(p.handedOffTo ?? "a human") (\(p.trigger.rawValue)): \(quote(p.reason))"
        case .sessionReleased(let p):
            return "Released the session back to the agent (by \(p.releasedBy))"
        case .sessionClosed(let p):
            return "Closed the session: \(quote(p.reason))"
        case .llmCompleted(let p):
            let tools = p.toolCallIds.isEmpty ? "" : ", asked for \(p.toolCallIds.count) tool call\(p.toolCallIds.count == 1 ? "" : "s")"
            return "Called \(p.model) (\(p.provider)), round \(p.iteration)\(tools) — \(p.totalTokens) tokens, \(usd(p.costUsd))"
        case .llmFailed(let p):
            return "LLM call to \(p.model) failed after \(p.attempts) attempt\(p.attempts == 1 ? "" : "s")\(p.httpStatus.map { " (HTTP \($0))" } ?? ""): \(quote(p.error))"
        case .toolRequested(let p):
            return "Asked to run \(p.tool)\(p.category.map { " (\($0.rawValue))" } ?? ""): \(argumentsSummary(p.arguments))"
        case .toolDenied(let p):
            return "Was refused \(p.tool) (\(p.rule)): \(quote(p.reason))"
        case .toolExecuted(let p):
            return toolSentence(p) + (p.approvalId.map { " (approved: \($0))" } ?? "")
        case .toolFailed(let p):
            return "Ran \(p.tool), which failed\(p.code.map { " (\($0))" } ?? ""): \(quote(p.error))"
        case .approvalRequested(let p):
            return "Asked for approval \(p.approvalId) (\(p.rule)): \(quote(p.summary))"
        case .approvalGranted(let p):
            return "Approved \(p.approvalId) (by \(p.decidedBy))" + (p.wasEdited ? " after editing \(p.diff.map(\.path).joined(separator: ", "))" : "")
        case .approvalRejected(let p):
            return "Rejected \(p.approvalId) (by \(p.decidedBy))" + (p.reason.map { ": \(quote($0))" } ?? "")
        case .approvalExpired(let p):
            return "Approval \(p.approvalId) expired at \(p.expiresAt.iso8601) with nobody deciding"
        case .messageDrafted(let p):
            return "Drafted a reply to \(p.to)" + (p.approvalId.map { " (waiting for \($0))" } ?? " (kept as a draft)") + ": \(quote(p.text))"
        case .messageSent(let p):
            return "Replied on \(p.channel.rawValue) to \(p.to)" + (p.approvalId.map { " (approved: \($0))" } ?? "") + ": \(quote(p.text))"
        case .messageDelivered(let p):
            return "Message \(p.messageId) \(p.status.rawValue)" + (p.error.map { ": \(quote($0))" } ?? "")
        case .costCharged(let p):
            return "Charged \(usd(p.usd)) to \(p.agentId) for \(p.day) (\(p.tokens) tokens, \(p.messages) message\(p.messages == 1 ? "" : "s"), \(p.model))"
        case .guardrailTripped(let p):
            let figures = p.limit.map { l in " (limit \(number(l))\(p.observed.map { ", observed \(number($0))" } ?? ""))" } ?? ""
            return "Guardrail \(p.guardrail.rawValue) stopped the agent\(figures): \(quote(p.detail))"
        case .unknown(let type, let version, let data):
            return "\(type) v\(version) (a type this Purser does not know, \(data.count) bytes)"
        }
    }

    /// The cost of an event, for the replay's cost column and session totals.
    public static func cost(_ event: DomainEvent) -> Double? {
        switch event {
        case .llmCompleted(let p): p.costUsd
        default: nil
        }
    }

    /// The tool's own sentence from the catalog ("Queried 3 bookings"), the same the activity
    /// log prints; for a tool with nothing specific to say, the call and its outcome.
    static func toolSentence(_ p: ToolExecuted) -> String {
        if let sentence = ToolCatalog.standard.sentence(tool: p.tool, call: p) { return sentence }
        var text = "Ran \(p.tool): \(argumentsSummary(p.arguments))"
        if let error = p.result["error"] { text += " → error \(short(error.serialized()))" }
        return text
    }

    static func argumentsSummary(_ v: JSONValue) -> String { short(v.serialized()) }

    static func objectLabel(_ o: OntologyObject) -> String {
        "\(o.subtype.map { "\(o.type)/\($0)" } ?? o.type) \(o.id)" + (o.name.map { " \"\($0)\"" } ?? "")
    }

    static func quote(_ text: String) -> String { "\"\(short(text.replacingOccurrences(of: "\n", with: " ")))\"" }

    static func short(_ text: String) -> String {
        text.count <= quoteCharactersMax ? text : String(text.prefix(quoteCharactersMax - 1)) + "…"
    }

    /// Money as the activity log prints it: cents, or four decimals when there are fractions
    /// of a cent (LLM calls cost fractions of a cent, and rounding them away hides the spend).
    public static func usd(_ value: Double) -> String {
        (value * 100).rounded() == value * 100 ? String(format: "$%.2f", value) : String(format: "$%.4f", value)
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.4f", v)
    }
}
