import Foundation
import PurserDomain

extension ToolDefinition {
    /// `handoff_tool`: the conversation to a human. It changes no org data and sends nothing; it
    /// is the safe exit every autonomy level must keep open, so it is classed with reads.
    public static let handoff = ToolDefinition(
        name: "handoff_tool", description: "Hand this conversation to a human, with the reason.",
        parameters: HandoffExecutor.parameters, baseCategory: .read,
        executor: { _ in HandoffExecutor() })
}

/// `handoff_tool`: hands the conversation to a human with the reason, as a `session.handed_off`
/// (trigger `handoff_tool`) on the session's stream. The agent sends nothing more in the
/// session until a person releases it; `ToolOutcome.handsOff` tells the loop to stop.
public struct HandoffExecutor: ToolExecutor {
    public init() {}

    static let parameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["reason"],
        "properties": ["reason": ["type": "string", "minLength": 1, "maxLength": 1000]],
    ]

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let reason = try CRMAccess.string(arguments, "reason", for: ToolDefinition.handoff.name)
        guard let sessionId = context.sessionId else {
            throw ToolError(.noSession, "\(ToolDefinition.handoff.name) hands over a conversation, and this call runs outside one; nothing was handed over")
        }
        let event = SessionHandedOff(sessionId: sessionId, trigger: .handoffTool, reason: reason)
        return ToolOutcome(result: ["handedOff": true, "reason": .string(reason),
                                    "note": "a human takes over this conversation; tell the customer someone will get back to them"],
                           effects: [ToolEffect(stream: EventStream.session(sessionId), event: .sessionHandedOff(event))])
    }
}
