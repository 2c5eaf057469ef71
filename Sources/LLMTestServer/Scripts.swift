import Foundation
import PurserDomain

/// A request the test server received, kept so tests can assert what the client sent.
public struct RecordedRequest: Sendable {
    public var method: String
    public var path: String
    /// Header names lower-cased; a repeated header keeps its last value.
    public var headers: [String: String]
    public var body: Data
    /// 0 for the first request the server received, counting every path.
    public var index: Int

    public init(method: String, path: String, headers: [String: String], body: Data, index: Int) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.index = index
    }

    /// The body parsed as JSON; `nil` when it is not JSON.
    public var json: JSONValue? { try? JSONValue(parsing: body) }

    /// The `model` the client asked for.
    public var model: String? { json?["model"]?.stringValue }

    /// `messages` as (role, content) pairs; content `nil` for assistant turns that only call tools.
    public var messages: [(role: String, content: String?)] {
        (json?["messages"]?.arrayValue ?? []).map { ($0["role"]?.stringValue ?? "", $0["content"]?.stringValue) }
    }

    /// The names of the tools offered to the model.
    public var toolNames: [String] {
        (json?["tools"]?.arrayValue ?? []).compactMap { $0["function"]?["name"]?.stringValue }
    }

    /// The content of the last `user` message.
    public var lastUserMessage: String? {
        messages.last { $0.role == "user" }?.content
    }
}

/// One scripted answer of the test server.
public struct ScriptedReply: Sendable {
    /// Token counts (and cost) written into `usage`. Fields left `nil` are computed from the
    /// request and reply sizes (bytes / 4); a `nil` cost leaves `usage.cost` out, as servers other
    /// than OpenRouter do.
    public struct Usage: Sendable, Hashable {
        public var promptTokens: Int?
        public var completionTokens: Int?
        public var cost: Double?

        public init(promptTokens: Int? = nil, completionTokens: Int? = nil, cost: Double? = nil) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.cost = cost
        }
    }

    /// A tool call in a scripted completion. `arguments` is sent as written, so a test can make
    /// it invalid JSON on purpose.
    public struct ToolCall: Sendable, Hashable {
        public var id: String
        public var name: String
        public var arguments: String

        public init(id: String, name: String, arguments: String) {
            self.id = id
            self.name = name
            self.arguments = arguments
        }
    }

    enum Body: Sendable {
        /// A chat completion, built when the reply is sent.
        case completion(text: String?, toolCalls: [ToolCall], finishReason: String?, usage: Usage, model: String?)
        /// Bytes sent as they are.
        case raw(Data)
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    var body: Body
    /// How long the server waits before answering; `nil` uses the server's configured delay.
    public var delay: Duration?

    init(status: Int, headers: [(name: String, value: String)] = [], body: Body, delay: Duration? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delay = delay
    }

    /// An assistant message with `text` and `finish_reason: stop`.
    public static func text(_ text: String, usage: Usage = Usage(), model: String? = nil) -> ScriptedReply {
        ScriptedReply(status: 200, body: .completion(text: text, toolCalls: [], finishReason: "stop", usage: usage, model: model))
    }

    /// An assistant message calling `calls`, with `finish_reason: tool_calls`.
    public static func toolCalls(_ calls: [ToolCall], text: String? = nil, usage: Usage = Usage(), model: String? = nil) -> ScriptedReply {
        ScriptedReply(status: 200, body: .completion(text: text, toolCalls: calls, finishReason: "tool_calls", usage: usage, model: model))
    }

    /// One tool call.
    public static func toolCall(id: String = "call_1", name: String, arguments: String, usage: Usage = Usage()) -> ScriptedReply {
        toolCalls([ToolCall(id: id, name: name, arguments: arguments)], usage: usage)
    }

    /// 429 with `Retry-After: retryAfter` (seconds or an HTTP date) when given.
    public static func rateLimited(retryAfter: String? = nil) -> ScriptedReply {
        ScriptedReply(status: 429, headers: retryAfter.map { [("Retry-After", $0)] } ?? [],
                      body: .raw(errorBody("Rate limit exceeded", code: 429)))
    }

    /// A 5xx (500 unless said otherwise) with an OpenAI-style error body.
    public static func serverError(status: Int = 500, message: String = "Internal server error") -> ScriptedReply {
        ScriptedReply(status: status, body: .raw(errorBody(message, code: status)))
    }

    /// A 200 whose body is `body` verbatim: by default not JSON at all.
    public static func invalidJSON(_ body: String = "<html>upstream gateway hiccup</html>") -> ScriptedReply {
        ScriptedReply(status: 200, body: .raw(Data(body.utf8)))
    }

    /// Any status, headers and body, sent verbatim.
    public static func raw(status: Int, headers: [(name: String, value: String)] = [], body: String) -> ScriptedReply {
        ScriptedReply(status: status, headers: headers, body: .raw(Data(body.utf8)))
    }

    /// This reply, sent after `delay` instead of the server's configured delay.
    public func delayed(by delay: Duration) -> ScriptedReply {
        var copy = self
        copy.delay = delay
        return copy
    }

    static func errorBody(_ message: String, code: Int) -> Data {
        JSONValue.object(["error": ["message": .string(message), "code": .number(Double(code))]]).serializedData()
    }

    /// The response body for `request`, the `generation` th completion the server produced.
    func bodyData(for request: RecordedRequest, generation: Int) -> Data {
        switch body {
        case .raw(let data):
            return data
        case let .completion(text, toolCalls, finishReason, usage, model):
            var message: [String: JSONValue] = ["role": "assistant", "content": text.map(JSONValue.string) ?? .null]
            if !toolCalls.isEmpty {
                message["tool_calls"] = .array(toolCalls.map { call in
                    ["id": .string(call.id), "type": "function",
                     "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                })
            }
            let replyBytes = (text ?? "").utf8.count + toolCalls.reduce(0) { $0 + $1.name.utf8.count + $1.arguments.utf8.count }
            let prompt = usage.promptTokens ?? max(1, request.body.count / 4)
            let completion = usage.completionTokens ?? max(1, replyBytes / 4)
            var usageObject: [String: JSONValue] = [
                "prompt_tokens": .number(Double(prompt)), "completion_tokens": .number(Double(completion)),
                "total_tokens": .number(Double(prompt + completion)),
            ]
            if let cost = usage.cost { usageObject["cost"] = .number(cost) }
            let root: JSONValue = [
                "id": .string("gen-test-\(generation)"),
                "object": "chat.completion",
                "created": 1_764_064_800,
                "model": .string(model ?? request.model ?? "test-model"),
                "choices": [["index": 0, "message": .object(message), "finish_reason": finishReason.map(JSONValue.string) ?? .null]],
                "usage": .object(usageObject),
            ]
            return root.serializedData()
        }
    }
}
