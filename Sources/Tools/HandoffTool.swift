import Foundation
import PurserDomain

/// `handoff_tool`: hands the conversation to a human with the reason, as a `session.handed_off`
/// (trigger `handoff_tool`) on the session's stream. The agent sends nothing more in the
/// session until a person releases it; `ToolOutcome.handsOff` tells the loop to stop.
public struct HandoffExecutor: ToolExecutor {
    public init() {}

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let reason = try CRMAccess.string(arguments, "reason", for: "handoff_tool")
        guard let sessionId = context.sessionId else {
            throw ToolError(.noSession, "handoff_tool hands over a conversation, and this call runs outside one; nothing was handed over")
        }
        let event = SessionHandedOff(sessionId: sessionId, trigger: .handoffTool, reason: reason)
        return ToolOutcome(result: ["handedOff": true, "reason": .string(reason),
                                    "note": "a human takes over this conversation; tell the customer someone will get back to them"],
                           effects: [ToolEffect(stream: EventStream.session(sessionId), event: .sessionHandedOff(event))])
    }
}
