import Foundation

/// Estimates token counts without a tokenizer.
///
/// The usual rule of thumb is four characters per token for English; German, code, JSON and
/// non-Latin scripts run denser. The estimate backs a cost *reservation* that must not come out
/// too small, so it errs high: one token per `bytesPerToken` UTF-8 bytes (three), which is
/// about chars/3 for Latin text and about one token per character for CJK, plus a fixed overhead
/// per message and per tool for the role markers and JSON framing the server adds.
public enum TokenEstimator {
    /// UTF-8 bytes counted as one token.
    public static let bytesPerToken = 3
    /// Role and separator tokens a chat template adds around each message.
    public static let perMessageOverheadTokens = 4
    /// Framing around each tool definition beyond its name, description and schema text.
    public static let perToolOverheadTokens = 8
    /// Tokens that prime the assistant's reply.
    public static let replyPrimingTokens = 3

    /// Tokens in `text`, rounded up; 0 for empty text.
    public static func estimate(_ text: String) -> Int {
        let bytes = text.utf8.count
        return (bytes + bytesPerToken - 1) / bytesPerToken
    }

    /// Prompt tokens of `request`: every message, every tool call replayed, every tool schema.
    public static func promptTokens(_ request: ChatRequest) -> Int {
        var total = replyPrimingTokens
        for message in request.messages {
            total += perMessageOverheadTokens + estimate(message.content ?? "")
            for call in message.toolCalls {
                total += estimate(call.id) + estimate(call.name) + estimate(call.arguments)
            }
            if let id = message.toolCallId { total += estimate(id) }
        }
        for tool in request.tools {
            total += perToolOverheadTokens + estimate(tool.name) + estimate(tool.description)
                + estimate(tool.parameters.serialized())
        }
        return total
    }
}
