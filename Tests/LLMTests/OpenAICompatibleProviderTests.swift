import Foundation
import Logging
import PurserDomain
import Testing
@testable import LLM
import LLMTestServer

/// A loopback port held by a bound socket that never listens: connecting to it is refused, and no other
/// server can bind it while the test runs.
struct ReservedPort {
    let descriptor: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { close(fd); throw POSIXError(.EBADF) }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func release() { close(descriptor) }
}

/// Records the waits a provider asked for instead of sleeping through them.
final class SleepRecorder: @unchecked Sendable {
    private let waits = Locked<[Duration]>([])

    var recorded: [Duration] { waits.withLock { $0 } }

    private func record(_ duration: Duration) {
        waits.withLock { $0.append(duration) }
    }

    var environment: RetryEnvironment {
        RetryEnvironment(
            sleep: { [self] duration in
                record(duration)
                try await Task.sleep(for: .milliseconds(1))
            },
            now: { Date(timeIntervalSince1970: 1_764_064_800) },
            random: { 0.5 }
        )
    }
}

let testLogger = Logger(label: "purser.llm.tests")

func startedServer(delay: Duration = .zero) throws -> LLMTestServer {
    let server = LLMTestServer(configuration: .init(delay: delay), logger: testLogger)
    try server.start()
    return server
}

func provider(for server: LLMTestServer, kind: ProviderKind = .openAICompatible, retry: RetryPolicy = .default,
              totalTimeout: Duration = .seconds(10), sleeper: SleepRecorder = SleepRecorder()) -> OpenAICompatibleProvider {
    var configuration: OpenAICompatibleConfiguration = kind == .openRouter
        ? .openRouter(apiKey: "sk-test-123", baseURL: server.baseURL)
        : .compatible(baseURL: server.baseURL, apiKey: "sk-test-123")
    configuration.totalTimeout = totalTimeout
    configuration.retry = retry
    configuration.connectTimeout = .seconds(2)
    return OpenAICompatibleProvider(configuration: configuration, retryEnvironment: sleeper.environment, logger: testLogger)
}

let sailingModel = ModelRef(provider: "anthropic", id: "claude-sonnet-4-20250514")

func request(_ text: String = "Was kostet der SBF Binnen?", tools: [ToolDefinition] = []) -> ChatRequest {
    ChatRequest(model: sailingModel,
                messages: [.system("Du bist der Assistent der Segelschule."), .user(text)],
                tools: tools, temperature: 0.3, maxTokens: 512)
}

let dataQueryTool = ToolDefinition(
    name: "data_query_tool", description: "Query the org's ontology objects.",
    parameters: ["type": "object", "properties": ["objectType": ["type": "string"]], "required": ["objectType"]])

@Suite("OpenAI-compatible provider over real HTTP")
struct OpenAICompatibleProviderTests {
    @Test("a text reply is read with its usage, reported cost and generation id")
    func textReply() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(.text("Der SBF Binnen kostet 349 €.", usage: .init(promptTokens: 120, completionTokens: 14, cost: 0.00057)))

        let response = try await provider(for: server).complete(request(tools: [dataQueryTool]))

        #expect(response.text == "Der SBF Binnen kostet 349 €.")
        #expect(response.toolCalls.isEmpty)
        #expect(response.usage == TokenUsage(promptTokens: 120, completionTokens: 14, cost: 0.00057))
        #expect(response.costUsd == 0.00057)
        #expect(response.costSource == .reported)
        #expect(response.generationId == "gen-test-1")
        #expect(response.finishReason == "stop")
        #expect(response.attempts == 1)
        #expect(response.latencyMs > 0)

        let sent = try #require(server.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.path == "/v1/chat/completions")
        #expect(sent.headers["authorization"] == "Bearer sk-test-123")
        #expect(sent.headers["content-type"] == "application/json")
        #expect(sent.model == "claude-sonnet-4-20250514")
        #expect(sent.messages.map(\.role) == ["system", "user"])
        #expect(sent.lastUserMessage == "Was kostet der SBF Binnen?")
        #expect(sent.toolNames == ["data_query_tool"])
        #expect(sent.json?["max_tokens"]?.intValue == 512)
        #expect(sent.json?["temperature"]?.doubleValue == 0.3)
        #expect(sent.json?["tools"]?[0]?["function"]?["parameters"]?["required"] == ["objectType"])
    }

    @Test("tool calls come back with their raw argument text, valid or not")
    func toolCalls() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(.toolCalls([
            .init(id: "call_a", name: "data_query_tool", arguments: #"{"objectType":"booking","limit":5}"#),
            .init(id: "call_b", name: "data_query_tool", arguments: #"{"objectType": "booking", "#),
        ]))

        let response = try await provider(for: server).complete(request(tools: [dataQueryTool]))

        #expect(response.finishReason == "tool_calls")
        #expect(response.toolCalls == [
            ToolCall(id: "call_a", name: "data_query_tool", arguments: #"{"objectType":"booking","limit":5}"#),
            ToolCall(id: "call_b", name: "data_query_tool", arguments: #"{"objectType": "booking", "#),
        ])
        #expect(response.text == nil)
    }

    @Test("a tool round trip sends the assistant's calls and the tool result back")
    func toolRoundTripEncoding() async throws {
        let server = try startedServer()
        defer { server.stop() }
        var chat = request(tools: [dataQueryTool])
        chat.messages.append(.assistant(nil, toolCalls: [ToolCall(id: "call_a", name: "data_query_tool", arguments: #"{"objectType":"course"}"#)]))
        chat.messages.append(.tool(callId: "call_a", content: #"{"total":1}"#))

        _ = try await provider(for: server).complete(chat)

        let messages = try #require(server.requests.first?.json?["messages"]?.arrayValue)
        #expect(messages.count == 4)
        #expect(messages[2]["tool_calls"]?[0]?["function"]?["arguments"] == .string(#"{"objectType":"course"}"#))
        #expect(messages[2]["content"] == .null)
        #expect(messages[3]["role"] == "tool")
        #expect(messages[3]["tool_call_id"] == "call_a")
    }

    @Test("without usage.cost the price table prices the reported tokens")
    func costFromPriceTable() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(.text("Hi", usage: .init(promptTokens: 1_000_000, completionTokens: 100_000)))

        let response = try await provider(for: server, kind: .openRouter).complete(request())

        #expect(response.usage.cost == nil)
        #expect(response.costSource == .priceTable)
        // anthropic/claude-sonnet-4: $3 per million prompt, $15 per million completion tokens.
        #expect(abs(response.costUsd - 4.5) < 1e-9)
        let sent = try #require(server.requests.first)
        #expect(sent.model == "anthropic/claude-sonnet-4")
        #expect(sent.headers["x-title"] == "Purser")
    }

    @Test("429 then success waits as long as Retry-After says")
    func rateLimitedThenSuccess() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(.rateLimited(retryAfter: "2"), .text("Gern!"))
        let sleeper = SleepRecorder()

        let response = try await provider(for: server, sleeper: sleeper).complete(request())

        #expect(response.text == "Gern!")
        #expect(response.attempts == 2)
        #expect(sleeper.recorded == [.seconds(2)])
        #expect(server.requestCount == 2)
    }

    @Test("Retry-After as an HTTP date is honoured relative to the clock")
    func rateLimitedWithHTTPDate() async throws {
        let server = try startedServer()
        defer { server.stop() }
        // The injected clock reads 2025-11-25T10:00:00Z.
        server.enqueue(.rateLimited(retryAfter: "Tue, 25 Nov 2025 10:00:03 GMT"), .text("ok"))
        let sleeper = SleepRecorder()

        _ = try await provider(for: server, sleeper: sleeper).complete(request())

        #expect(sleeper.recorded == [.seconds(3)])
    }

    @Test("a Retry-After beyond the limit ends the call at once")
    func retryAfterTooLong() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(.rateLimited(retryAfter: "3600"))
        let sleeper = SleepRecorder()

        let error = await #expect(throws: LLMError.self) {
            try await provider(for: server, sleeper: sleeper).complete(request())
        }
        #expect(error?.code == .rateLimited)
        #expect(error?.attempts == 1)
        #expect(error?.httpStatus == 429)
        #expect(sleeper.recorded.isEmpty)
    }

    @Test("5xx is retried with growing backoff, then fails with attempts and status")
    func serverErrorsExhaustAttempts() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(.serverError(), .serverError(status: 503), .serverError(status: 502), .text("too late"))
        let sleeper = SleepRecorder()
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(1))

        let error = await #expect(throws: LLMError.self) {
            try await provider(for: server, retry: policy, sleeper: sleeper).complete(request())
        }
        #expect(error?.code == .serverError)
        #expect(error?.attempts == 3)
        #expect(error?.httpStatus == 502)
        #expect(server.requestCount == 3)
        // Equal jitter with random 0.5: 3/4 of 100 ms, then of 200 ms.
        #expect(sleeper.recorded == [.milliseconds(75), .milliseconds(150)])
        #expect(server.pendingReplies == 1)
    }

    @Test("a reply slower than the total timeout fails as a timeout")
    func timeout() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(ScriptedReply.text("slow").delayed(by: .seconds(3)))

        let started = ContinuousClock.now
        let error = await #expect(throws: LLMError.self) {
            try await provider(for: server, retry: .none, totalTimeout: .milliseconds(300)).complete(request())
        }
        #expect(error?.code == .timeout)
        #expect(error?.attempts == 1)
    }

    @Test("a 200 whose body is not JSON is a typed invalid-response error, not retried")
    func invalidJSONBody() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(.invalidJSON())

        let error = await #expect(throws: LLMError.self) {
            try await provider(for: server).complete(request())
        }
        #expect(error?.code == .invalidResponse)
        #expect(error?.attempts == 1)
        #expect(error?.message.contains("not JSON") == true)
        #expect(server.requestCount == 1)
    }

    @Test("a 200 carrying an upstream error object is retried like that status")
    func errorObjectInOKResponse() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(.raw(status: 200, body: #"{"error":{"message":"upstream overloaded","code":502}}"#), .text("ok"))
        let sleeper = SleepRecorder()

        let response = try await provider(for: server, sleeper: sleeper).complete(request())

        #expect(response.text == "ok")
        #expect(response.attempts == 2)
        #expect(sleeper.recorded.count == 1)
    }

    @Test("a refused key is not retried and says what to check")
    func unauthorized() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(.raw(status: 401, body: #"{"error":{"message":"No auth credentials found","code":401}}"#))

        let error = await #expect(throws: LLMError.self) {
            try await provider(for: server).complete(request())
        }
        #expect(error?.code == .rejected)
        #expect(error?.httpStatus == 401)
        #expect(error?.message.contains("No auth credentials found") == true)
        #expect(server.requestCount == 1)
    }

    @Test("an unreachable server is a transport error after the retries")
    func connectionRefused() async throws {
        // A port that was listened on and closed can be taken at once by another test's server running
        // in parallel, which then answers this call. A socket bound but never listening holds the port
        // for the whole test and refuses every connection.
        let reserved = try ReservedPort()
        defer { reserved.release() }
        let url = "http://127.0.0.1:\(reserved.port)/v1"
        let configuration = OpenAICompatibleConfiguration(kind: .openAICompatible, baseURL: url, apiKey: nil,
                                                          retry: RetryPolicy(maxAttempts: 2))
        let sleeper = SleepRecorder()
        let provider = OpenAICompatibleProvider(configuration: configuration, retryEnvironment: sleeper.environment, logger: testLogger)

        let error = await #expect(throws: LLMError.self) { try await provider.complete(request()) }
        #expect(error?.code == .transport)
        #expect(error?.attempts == 2)
        #expect(sleeper.recorded.count == 1)
    }

    @Test("calls in flight at once wait concurrently, not one after another")
    func concurrentCalls() async throws {
        let server = try startedServer(delay: .milliseconds(200))
        defer { server.stop() }
        server.setResponder { request in .text("echo: \(request.lastUserMessage ?? "")") }
        let provider = provider(for: server)
        let started = ContinuousClock.now

        let replies = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<50 {
                group.addTask { try await provider.complete(request("Frage \(index)")).text }
            }
            var texts: [String] = []
            for try await text in group { texts.append(text ?? "") }
            return texts
        }

        #expect(Set(replies) == Set((0..<50).map { "echo: Frage \($0)" }))
        #expect(server.requestCount == 50)
    }

    @Test("a cancelled task stops its call")
    func cancellation() async throws {
        let server = try startedServer()
        defer { server.stop() }
        server.enqueue(ScriptedReply.text("never").delayed(by: .seconds(5)))
        let provider = provider(for: server, retry: .none)
        let task = Task { try await provider.complete(request()) }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        task.cancel()

        let result = await task.result
        guard case .failure(let error as LLMError) = result else {
            Issue.record("expected a cancelled LLMError, got \(result)")
            return
        }
        #expect(error.code == .cancelled)
    }
}

@Suite("HTTP client")
struct HTTPClientTests {
    @Test("a shut-down client fails new calls as cancelled")
    func shutdown() async throws {
        let server = try startedServer()
        defer { server.stop() }
        let client = HTTPClient(logger: testLogger)
        let first = try await client.send(.postJSON(url: server.baseURL + "/chat/completions", body: Data("{}".utf8)))
        #expect(first.status == 200)
        #expect(first.header("content-type") == "application/json")
        client.shutdown()

        let error = await #expect(throws: LLMError.self) {
            try await client.send(.postJSON(url: server.baseURL + "/chat/completions", body: Data("{}".utf8)))
        }
        #expect(error?.code == .cancelled)
    }

    @Test("the test server starts once, stops idempotently, and refuses a restart")
    func serverLifecycle() async throws {
        let server = LLMTestServer(logger: testLogger)
        try server.start()
        #expect(server.port > 0)
        #expect(server.baseURL == "http://127.0.0.1:\(server.port)/v1")
        #expect(throws: LLMTestServerError.self) { try server.start() }
        server.stop()
        server.stop()
        #expect(throws: LLMTestServerError.self) { try server.start() }
    }

    @Test("unknown paths get 404 from the test server")
    func notFound() async throws {
        let server = try startedServer()
        defer { server.stop() }
        let response = try await HTTPClient.shared.send(.postJSON(url: "http://127.0.0.1:\(server.port)/nope", body: Data()))
        #expect(response.status == 404)
    }
}

@Suite("Test server under load")
struct LoadTests {
    @Test("500 calls in flight at 200 ms each finish together, over kept-alive connections")
    func fiveHundredConcurrent() async throws {
        let server = try startedServer(delay: .milliseconds(200))
        defer { server.stop() }
        let provider = provider(for: server)
        let started = ContinuousClock.now
        let rounds = 3
        for _ in 0..<rounds {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<500 {
                    group.addTask { _ = try await provider.complete(request("Frage \(index)")) }
                }
                try await group.waitForAll()
            }
        }
        let elapsed = ContinuousClock.now - started
        print("LLM load: \(rounds * 500) calls in \(elapsed)")
        #expect(server.requestCount == rounds * 500)
        // Serially this would take 300 s; concurrently a little over 3 × 200 ms.
        // How long this takes is reported above, not asserted: timing belongs in benchmarks.
    }
}
