import Foundation
import Logging
import PurserDomain

/// Where an OpenAI-compatible provider sends its calls and how.
public struct OpenAICompatibleConfiguration: Sendable {
    public static let openRouterBaseURL = "https://openrouter.ai/api/v1"
    /// OpenRouter shows this as the calling app in its dashboard.
    public static let openRouterAppTitle = "Purser"

    /// `.openRouter` maps config model ids to OpenRouter ids; `.openAICompatible` sends them as
    /// written (or `modelOverride`).
    public var kind: ProviderKind
    /// The API root, e.g. `https://openrouter.ai/api/v1`; `/chat/completions` is appended.
    public var baseURL: String
    /// Sent as `Authorization: Bearer …` when set.
    public var apiKey: String?
    /// The model every call uses regardless of the agent config, for servers that serve one
    /// model under their own name (vLLM, llama.cpp); `PURSER_LLM_MODEL`.
    public var modelOverride: String?
    public var connectTimeout: Duration
    public var totalTimeout: Duration
    public var retry: RetryPolicy
    public var extraHeaders: [HTTPHeader]

    public init(kind: ProviderKind, baseURL: String, apiKey: String?, modelOverride: String? = nil,
                connectTimeout: Duration = HTTPClient.defaultConnectTimeout, totalTimeout: Duration = HTTPClient.defaultTotalTimeout,
                retry: RetryPolicy = .default, extraHeaders: [HTTPHeader] = []) {
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.modelOverride = modelOverride
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.retry = retry
        self.extraHeaders = extraHeaders
    }

    /// OpenRouter with `apiKey`.
    public static func openRouter(apiKey: String, baseURL: String = openRouterBaseURL) -> OpenAICompatibleConfiguration {
        OpenAICompatibleConfiguration(kind: .openRouter, baseURL: baseURL, apiKey: apiKey,
                                      extraHeaders: [HTTPHeader("X-Title", openRouterAppTitle)])
    }

    /// Any server speaking OpenAI's chat completions at `baseURL`.
    public static func compatible(baseURL: String, apiKey: String? = nil, modelOverride: String? = nil) -> OpenAICompatibleConfiguration {
        OpenAICompatibleConfiguration(kind: .openAICompatible, baseURL: baseURL, apiKey: apiKey, modelOverride: modelOverride)
    }

    /// The chat-completions endpoint.
    public var completionsURL: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/chat/completions"
    }
}

/// OpenAI-style chat completions with tools over HTTP(S): OpenRouter, or any compatible server.
///
/// Each call is one `POST {base}/chat/completions`, retried per `RetryPolicy`. The cost is the
/// response's `usage.cost` when present (OpenRouter reports it), else the price table's figure for
/// the reported tokens; a response without `usage` is charged on token estimates.
public struct OpenAICompatibleProvider: LLMProvider {
    /// How much of an error body is quoted in an error message.
    static let quotedBodyLimitCharacters = 300

    public let configuration: OpenAICompatibleConfiguration
    public let priceTable: PriceTable
    private let client: HTTPClient
    private let retryEnvironment: RetryEnvironment
    private let logger: Logger

    public init(configuration: OpenAICompatibleConfiguration, priceTable: PriceTable = .builtIn,
                client: HTTPClient = .shared, retryEnvironment: RetryEnvironment = .live, logger: Logger) {
        self.configuration = configuration
        self.priceTable = priceTable
        self.client = client
        self.retryEnvironment = retryEnvironment
        self.logger = logger
    }

    public var kind: ProviderKind { configuration.kind }

    public func modelID(for model: ModelRef) -> String {
        if let override = configuration.modelOverride, !override.isEmpty { return override }
        switch configuration.kind {
        case .openRouter: return ModelIDMapper.openRouterID(for: model)
        case .openAICompatible, .offline: return model.id
        }
    }

    public func complete(_ request: ChatRequest) async throws(LLMError) -> ChatResponse {
        let model = modelID(for: request.model)
        let body = requestBody(request, model: model).serializedData()
        var headers = configuration.extraHeaders
        if let key = configuration.apiKey, !key.isEmpty { headers.append(HTTPHeader("Authorization", "Bearer \(key)")) }
        let httpRequest = HTTPRequest.postJSON(url: configuration.completionsURL, body: body, headers: headers,
                                               connectTimeout: configuration.connectTimeout,
                                               totalTimeout: configuration.totalTimeout)
        let policy = configuration.retry
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            let failure: LLMError
            var retryAfter: Duration?
            do {
                let response = try await client.send(httpRequest)
                if (200...299).contains(response.status) {
                    return try parseCompletion(response.body, request: request, model: model, attempts: attempt,
                                               latencyMs: Self.milliseconds(since: started))
                }
                failure = statusError(response)
                if let value = response.header("Retry-After") {
                    retryAfter = RetryPolicy.retryAfter(value, now: retryEnvironment.now())
                }
            } catch {
                failure = error
            }

            var final = failure
            final.attempts = attempt
            guard final.isRetryable, attempt < policy.maxAttempts else {
                logger.notice("LLM call failed", metadata: ["model": "\(model)", "error": "\(final.code.rawValue)", "attempts": "\(attempt)"])
                throw final
            }
            if let retryAfter, retryAfter > policy.maxRetryAfter {
                final.message += "; the server asked to wait \(retryAfter), longer than the \(policy.maxRetryAfter) a message may be held"
                throw final
            }
            let wait = retryAfter ?? policy.backoff(afterAttempt: attempt, random: retryEnvironment.random())
            logger.info("LLM call will be retried", metadata: [
                "model": "\(model)", "error": "\(failure.code.rawValue)", "status": "\(failure.httpStatus.map(String.init) ?? "-")",
                "attempt": "\(attempt)", "waitMs": "\(Self.milliseconds(wait))",
            ])
            do {
                try await retryEnvironment.sleep(wait)
            } catch {
                throw LLMError(.cancelled, "the LLM call was cancelled while waiting to retry", httpStatus: failure.httpStatus,
                               attempts: attempt, cause: error)
            }
        }
    }

    // MARK: Request

    func requestBody(_ request: ChatRequest, model: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "messages": .array(request.messages.map(Self.encode)),
        ]
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map { tool in
                ["type": "function",
                 "function": ["name": .string(tool.name), "description": .string(tool.description), "parameters": tool.parameters]]
            })
        }
        if let temperature = request.temperature { body["temperature"] = .number(temperature) }
        if let maxTokens = request.maxTokens { body["max_tokens"] = .number(Double(maxTokens)) }
        if configuration.kind == .openRouter {
            // Older OpenRouter deployments report `usage.cost` only when asked; newer ones ignore it.
            body["usage"] = ["include": true]
        }
        return .object(body)
    }

    static func encode(_ message: ChatMessage) -> JSONValue {
        var object: [String: JSONValue] = [
            "role": .string(message.role.rawValue),
            "content": message.content.map(JSONValue.string) ?? .null,
        ]
        if !message.toolCalls.isEmpty {
            object["tool_calls"] = .array(message.toolCalls.map { call in
                ["id": .string(call.id), "type": "function",
                 "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
            })
        }
        if let id = message.toolCallId { object["tool_call_id"] = .string(id) }
        return .object(object)
    }

    // MARK: Response

    private func statusError(_ response: HTTPResponse) -> LLMError {
        let status = response.status
        let detail = Self.errorDetail(response.body)
        let suffix = detail.isEmpty ? "" : ": \(detail)"
        switch status {
        case 429:
            return LLMError(.rateLimited, "the LLM server is rate-limiting calls\(suffix)", httpStatus: status)
        case 408:
            return LLMError(.timeout, "the LLM server timed out waiting for the request\(suffix)", httpStatus: status)
        case 500...599:
            return LLMError(.serverError, "the LLM server failed\(suffix)", httpStatus: status)
        case 401, 403:
            return LLMError(.rejected, "the LLM server refused the API key\(suffix); check OPENROUTER_API_KEY or PURSER_LLM_API_KEY",
                            httpStatus: status)
        case 404:
            return LLMError(.rejected, "the LLM server does not know the endpoint or model\(suffix); check PURSER_LLM_BASE_URL and the agent's modelId",
                            httpStatus: status)
        default:
            return LLMError(.rejected, "the LLM server refused the call\(suffix)", httpStatus: status)
        }
    }

    /// The server's own explanation from an error body, shortened for a message.
    static func errorDetail(_ body: Data) -> String {
        if let value = try? JSONValue(parsing: body), let message = value["error"]?["message"]?.stringValue {
            return String(message.prefix(quotedBodyLimitCharacters))
        }
        let text = String(decoding: body.prefix(quotedBodyLimitCharacters), as: UTF8.self)
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func parseCompletion(_ body: Data, request: ChatRequest, model: String, attempts: Int,
                         latencyMs: Double) throws(LLMError) -> ChatResponse {
        let root: JSONValue
        do {
            root = try JSONValue(parsing: body)
        } catch {
            let excerpt = String(decoding: body.prefix(Self.quotedBodyLimitCharacters), as: UTF8.self)
            throw LLMError(.invalidResponse, "the LLM server's answer is not JSON (\(error.message)); it began: \(excerpt)",
                           httpStatus: 200, attempts: attempts, cause: error)
        }
        // OpenRouter can answer 200 with an error object when the upstream provider failed.
        if let error = root["error"] {
            let code = error["code"]?.intValue
            let message = error["message"]?.stringValue ?? error.serialized()
            let errorCode: LLMError.Code = code.map { RetryPolicy.isRetryable(status: $0) ? ($0 == 429 ? .rateLimited : .serverError) : .rejected } ?? .serverError
            throw LLMError(errorCode, "the LLM server reported an error: \(message.prefix(Self.quotedBodyLimitCharacters))",
                           httpStatus: code ?? 200, attempts: attempts)
        }
        guard let choice = root["choices"]?.arrayValue?.first, let message = choice["message"] else {
            throw LLMError(.invalidResponse, "the LLM server's answer has no choices[0].message: \(root.serialized().prefix(Self.quotedBodyLimitCharacters))",
                           httpStatus: 200, attempts: attempts)
        }
        let text = Self.text(of: message["content"])
        var toolCalls: [ToolCall] = []
        for (index, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
            guard let function = call["function"], let name = function["name"]?.stringValue else {
                throw LLMError(.invalidResponse, "tool_calls[\(index)] has no function name: \(call.serialized().prefix(Self.quotedBodyLimitCharacters))",
                               httpStatus: 200, attempts: attempts)
            }
            // Arguments are a JSON string by the protocol; some servers send the object itself.
            let arguments: String = switch function["arguments"] {
            case .string(let raw)?: raw
            case nil, .null?: "{}"
            case let other?: other.serialized()
            }
            toolCalls.append(ToolCall(id: call["id"]?.stringValue ?? "call_\(index)", name: name, arguments: arguments))
        }

        let usageValue = root["usage"]
        let promptTokens = usageValue?["prompt_tokens"]?.intValue ?? TokenEstimator.promptTokens(request)
        let completionTokens = usageValue?["completion_tokens"]?.intValue
            ?? TokenEstimator.estimate(text ?? "") + toolCalls.reduce(0) { $0 + TokenEstimator.estimate($1.name + $1.arguments) }
        let reportedCost = usageValue?["cost"]?.doubleValue
        let usage = TokenUsage(promptTokens: promptTokens, completionTokens: completionTokens, cost: reportedCost)
        let costUsd: Double
        let costSource: CostSource
        if let reportedCost {
            costUsd = reportedCost
            costSource = .reported
        } else {
            costUsd = priceTable.cost(for: usage, model: model)
            costSource = .priceTable
        }
        return ChatResponse(text: text, toolCalls: toolCalls, usage: usage, costUsd: costUsd, costSource: costSource,
                            generationId: root["id"]?.stringValue, model: root["model"]?.stringValue ?? model,
                            finishReason: choice["finish_reason"]?.stringValue, latencyMs: latencyMs, attempts: attempts)
    }

    /// `content` as a string, or the text parts of a content array, or `nil`.
    private static func text(of content: JSONValue?) -> String? {
        switch content {
        case .string(let text)?: return text
        case .array(let parts)?:
            let texts = parts.compactMap { $0["text"]?.stringValue }
            return texts.isEmpty ? nil : texts.joined()
        default: return nil
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        milliseconds(ContinuousClock.now - start)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
