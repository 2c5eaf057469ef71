import Channels
import EventLog
import Foundation
import LLM
import LLMTestServer
import Logging
import Pipeline
import PurserCore
import PurserDomain
import Tools

/// Issue #5's figure: end-to-end messages per second through the whole pipeline against the
/// OpenAI-compatible test server adding `delayMs` to every call, with `sessions` conversations at
/// once; and the engine's own time per message (model wait excluded), p50/p99. The baseline is the
/// same number of chat completions sent straight through the provider at the same concurrency:
/// what the model alone allows.
func runPipelineBench(messages: Int, sessions: Int, delayMs: Int, work: String) async throws {
    try? FileManager.default.removeItem(atPath: work)
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }

    let server = LLMTestServer(configuration: .init(delay: .milliseconds(delayMs), maxRecordedRequests: 16), logger: quiet)
    try server.start()
    defer { server.stop() }
    server.setResponder { _ in .text("Der SBF Binnen kostet 450 €. Mast- und Schotbruch!", usage: .init(promptTokens: 900, completionTokens: 20, cost: 0.0001)) }
    var configuration = OpenAICompatibleConfiguration.compatible(baseURL: server.baseURL, apiKey: "bench")
    configuration.totalTimeout = .seconds(60)
    let provider = OpenAICompatibleProvider(configuration: configuration, logger: quiet)

    // Baseline: the model calls alone, `sessions` at a time.
    let request = ChatRequest(model: ModelRef(provider: "anthropic", id: "claude-sonnet-4-20250514"),
                              messages: [.system("You are the assistant."), .user("Was kostet der SBF Binnen?")], maxTokens: 256)
    let t0 = now()
    let c0 = cpuSeconds()
    await withTaskGroup(of: Void.self) { group in
        var next = 0
        for _ in 0..<min(sessions, messages) {
            group.addTask { _ = try? await provider.complete(request) }
            next += 1
        }
        while await group.next() != nil {
            if next < messages {
                group.addTask { _ = try? await provider.complete(request) }
                next += 1
            }
        }
    }
    let baselineRate = Double(messages) / (now() - t0)
    let baselineCPU = cpuSeconds() - c0

    // The pipeline: an autonomous agent with caps far above the run, messages from `sessions`
    // contacts, fed through the ingest driver.
    let log = try EventLog.open(directory: work + "/eventlog", logger: quiet)
    defer { log.close() }
    let config: JSONValue = [
        "type": "org_agent", "subtype": "primary", "organizationId": "haff", "name": "Bench", "status": "active",
        "customProperties": [
            "language": "de", "faqEntries": [["q": "Was kostet der SBF Binnen?", "a": "450 €"]], "enabledTools": ["data_query_tool"],
            "autonomyLevel": "autonomous", "maxMessagesPerDay": 100_000_000, "maxCostPerDay": 1_000_000.0, "maxTokens": 256,
            "channelBindings": [["channel": "whatsapp", "enabled": true, "address": "+4939771234567"]],
        ],
    ]
    let agent = try OrgAgentConfig.load(Data(config.serialized().utf8), tools: ToolCatalog.standard.acceptedNames, routing: [:])
    let encoded = try EventCatalog.standard.encode(AgentConfigured(agentId: "primary", revision: 1, config: agent))
    _ = try log.appendSync([EventDraft(org: "haff", stream: "agent:primary", type: encoded.type, version: encoded.version, data: Array(encoded.data))])
    var options = PipelineOptions()
    options.llmCallsInFlightMax = sessions
    let pipeline = try await Pipeline(dataDirectory: work, log: log, provider: provider, options: options, logger: quiet)

    var lines = ""
    lines.reserveCapacity(messages * 160)
    for i in 0..<messages {
        let contact = String(format: "+49170%07d", i % sessions)
        lines += #"{"channel":"whatsapp","to":"+4939771234567","from":"\#(contact)","text":"Was kostet der SBF Binnen? (\#(i))","externalMessageId":"wamid.bench.\#(i)"}"# + "\n"
    }
    let reader = InboundReader(data: Data(lines.utf8), sourceName: "bench", format: .jsonl)
    let timings = Locked<(engine: [Double], model: [Double])>(([], []))
    let t1 = now()
    let c1 = cpuSeconds()
    let summary = await Ingestor(pipeline: pipeline, inFlightMax: sessions).run(reader) { outcome in
        timings.withLock {
            $0.engine.append(Double(outcome.engineNanos) / 1e6)
            $0.model.append(Double(outcome.modelWaitNanos) / 1e6)
        }
    }
    let seconds = now() - t1
    let pipelineCPU = cpuSeconds() - c1
    let rate = Double(messages) / seconds
    let (engineMillis, modelMillis) = timings.withLock { $0 }
    let engine = engineMillis.sorted()
    func pct(_ p: Double) -> Double { engine.isEmpty ? 0 : engine[min(engine.count - 1, Int(Double(engine.count) * p))] }
    row("pipeline end to end (\(messages) msgs, \(sessions) sessions, model +\(delayMs) ms), msg/s", formatRate(rate),
        "model calls alone, same concurrency", formatRate(baselineRate), String(format: "%.2f×", rate / baselineRate))
    // The engine's CPU per message: the process's CPU time in the pipeline run minus that of the
    // baseline run (the same model calls through the same client and test server, in process).
    let engineCPUms = max(0, pipelineCPU - baselineCPU) / Double(messages) * 1000
    row("engine CPU per message (pipeline run minus model-calls-alone run), ms", String(format: "%.3f", engineCPUms),
        "CPU per model call alone (client + test server)", String(format: "%.3f ms", baselineCPU / Double(messages) * 1000), "")
    row("engine wall time per message (model wait excluded, queueing for CPU and fsync included), p50 / p99 ms",
        String(format: "%.2f / %.2f", pct(0.5), pct(0.99)),
        "model wait per message, p50", String(format: "%.0f ms", modelMillis.sorted()[modelMillis.count / 2]), "")
    FileHandle.standardError.write(Data("pipeline: \(summary.count(.sent)) sent, \(summary.count(.failed)) failed in \(String(format: "%.1f", seconds)) s\n".utf8))
}

/// User + system CPU seconds of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}
