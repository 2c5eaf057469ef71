import Foundation
import PurserDomain

extension ToolDefinition {
    /// `send_message_tool`: a message to the conversation's contact.
    public static let sendMessage = ToolDefinition(
        name: "send_message_tool", description: "Send a message to the contact of this conversation, on its channel.",
        parameters: SendMessageExecutor.parameters, baseCategory: .message,
        executor: { _ in SendMessageExecutor() })
}

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

    static let parameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["text"],
        "properties": ["text": ["type": "string", "minLength": 1, "maxLength": 4000]],
    ]

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let text = try CRMAccess.string(arguments, "text", for: ToolDefinition.sendMessage.name)
        guard let sessionId = context.sessionId else {
            throw ToolError(.noSession, "\(ToolDefinition.sendMessage.name) only works inside a conversation; there is none here, so nothing was sent")
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
