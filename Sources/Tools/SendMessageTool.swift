import Foundation
import PurserDomain

/// `send_message_tool`: sends a message to the contact of the conversation the call runs in.
///
/// The recipient is never an argument: it is the session's contact address on the session's
/// channel, sent from the org's address there, so the model cannot message anyone else. The
/// effect is a `message.sent` on the session's stream, which the outbox projection queues for
/// the channel connector.
///
/// In an internal session (staff talking to their own agent) nothing is delivered outside: the
/// call succeeds, produces no event, and returns the text with `delivered: false`, so the agent
/// can show staff the message it would have sent.
public struct SendMessageExecutor: ToolExecutor {
    public init() {}

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let text = try CRMAccess.string(arguments, "text", for: "send_message_tool")
        guard let sessionId = context.sessionId else {
            throw ToolError(.noSession, "send_message_tool only works inside a conversation; there is none here, so nothing was sent")
        }
        if context.internalSession {
            return ToolOutcome(result: ["delivered": false, "internal": true, "text": .string(text),
                                        "note": "internal session: nothing is sent outside; show the text to the staff member instead"])
        }
        guard let channel = context.channel, let address = context.contactAddress else {
            throw ToolError(.noSession, "this conversation has no customer address to send to; nothing was sent. Reply in the conversation instead")
        }
        let messageId = context.makeId("msg_")
        let message = MessageSent(messageId: messageId, agentId: context.agentId, sessionId: sessionId, channel: channel,
                                  from: context.orgAddress, to: address, text: text)
        return ToolOutcome(result: ["queued": true, "messageId": .string(messageId), "channel": .string(channel.rawValue)],
                           effects: [ToolEffect(stream: EventStream.session(sessionId), event: .messageSent(message))])
    }
}
