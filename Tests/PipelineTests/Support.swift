import EventLog
import EventStore
import Foundation
import PostgresReadModels
import PostgresStore
import PostgresTestSupport
@_exported import PurserTestSupport
import LLM
import LLMTestServer
import Logging
@testable import Pipeline
import PurserDomain
import Testing

let testLogger: Logger = {
    var logger = Logger(label: "purser.pipeline.tests")
    logger.logLevel = .warning
    return logger
}()

/// The sailing school of the seed, with knobs for what a test varies.
func agentConfig(org: String = "haff", address: String = "+4939771234567", autonomy: String = "autonomous",
                 status: String = "active", enabled: [String] = ["data_query_tool", "crm_tool", "booking_tool", "handoff_tool"],
                 disabled: [String] = ["bulk_crm_email_tool"], requireApproval: [String] = ["bulk_email", "delete_contact", "financial"],
                 maxMessages: Int = 100, maxCost: Double = 5.0, blocked: [String] = ["competitor pricing", "legal advice"],
                 faq: [(String, String)] = [("Wo finde ich euch?", "Am Stettiner Haff, direkt am Hafen."),
                                            ("Was kostet der SBF Binnen?", "Der SBF Binnen kostet 450 €.")],
                 modelId: String = "claude-sonnet-4-20250514", maxTokens: Int = 1024) -> OrgAgentConfig {
    let faqJSON: JSONValue = .array(faq.map { ["q": .string($0.0), "a": .string($0.1)] })
    let config: JSONValue = [
        "type": "org_agent", "subtype": "primary", "organizationId": .string(org), "name": "Sailing School Assistant",
        "status": .string(status),
        "customProperties": [
            "displayName": "Haff Assistant", "personality": "friendly, nautical", "language": "de", "additionalLanguages": ["en"],
            "brandVoiceInstructions": "Sign off with 'Mast- und Schotbruch!'", "systemPrompt": .string("You are the assistant of \(org)."),
            "knowledgeDocIds": [], "faqEntries": faqJSON,
            "enabledTools": .array(enabled.map { .string($0) }), "disabledTools": .array(disabled.map { .string($0) }),
            "autonomyLevel": .string(autonomy), "maxMessagesPerDay": .number(Double(maxMessages)), "maxCostPerDay": .number(maxCost),
            "requireApprovalFor": .array(requireApproval.map { .string($0) }), "blockedTopics": .array(blocked.map { .string($0) }),
            "modelProvider": "anthropic", "modelId": .string(modelId), "temperature": 0.2, "maxTokens": .number(Double(maxTokens)),
            "channelBindings": [["channel": "whatsapp", "enabled": true, "address": .string(address)]],
        ],
    ]
    return try! config.decode(OrgAgentConfig.self)
}

/// The store the engines under test run on: the embedded log, or with `PURSER_TEST_STORE=postgres`
/// a fresh PostgreSQL database per harness (CI runs the pipeline suites once each way).
enum TestStore {
    static let postgres = ProcessInfo.processInfo.environment["PURSER_TEST_STORE"] == "postgres"
}

/// A data directory with agents and objects in its store, and an engine over it.
final class Harness: @unchecked Sendable {
    let dir = TempDir()
    /// The embedded log, when that is the store.
    let log: EventLog?
    let store: any EventStore
    private(set) var pipeline: Pipeline!
    let server: LLMTestServer?
    /// Orgs with a model server of their own (their credentials), used for them only.
    let orgServers: [String: LLMTestServer]

    var eventLogDirectory: String { dir.path + "/eventlog" }

    /// - Parameter server: when given, the engine talks to it over real HTTP; else offline.
    init(configs: [OrgAgentConfig], objects: [(org: String, object: OntologyObject)] = [], links: [(org: String, link: ObjectLink)] = [],
         server: LLMTestServer? = nil, options: PipelineOptions = PipelineOptions(), prices: PriceTable = .builtIn,
         orgServers: [String: LLMTestServer] = [:]) async throws {
        self.server = server
        self.orgServers = orgServers
        if TestStore.postgres {
            store = try await PostgresEventStore.open(url: try await TestDatabase.create(), connectionsMax: 4, logger: testLogger)
            log = nil
        } else {
            let opened = try EventLog.open(directory: dir.path + "/eventlog")
            store = EmbeddedEventStore(writer: opened)
            log = opened
        }
        var drafts: [EventDraft] = []
        for config in configs {
            let encoded = try EventCatalog.standard.encode(AgentConfigured(agentId: config.agentId, revision: 1, config: config))
            drafts.append(EventDraft(org: config.organizationId, stream: EventStream.agent(config.agentId), type: encoded.type,
                                     version: encoded.version, data: Array(encoded.data), actor: Actor(.human, "owner")))
        }
        for (org, object) in objects {
            let encoded = try EventCatalog.standard.encode(ObjectCreated(object: object))
            drafts.append(EventDraft(org: org, stream: EventStream.object(object.id), type: encoded.type, version: encoded.version,
                                     data: Array(encoded.data)))
        }
        for (org, link) in links {
            let encoded = try EventCatalog.standard.encode(LinkCreated(link: link))
            drafts.append(EventDraft(org: org, stream: EventStream.links(from: link.from), type: encoded.type, version: encoded.version,
                                     data: Array(encoded.data)))
        }
        if !drafts.isEmpty { _ = try await store.append(drafts) }
        pipeline = try await makePipeline(options: options, prices: prices)
    }

    func makePipeline(options: PipelineOptions = PipelineOptions(), prices: PriceTable = .builtIn) async throws -> Pipeline {
        let provider: any LLMProvider
        if let server {
            var configuration = OpenAICompatibleConfiguration.compatible(baseURL: server.baseURL, apiKey: "sk-test")
            configuration.connectTimeout = .seconds(2)
            configuration.totalTimeout = .seconds(20)
            provider = OpenAICompatibleProvider(configuration: configuration, priceTable: prices,
                                                retryEnvironment: RetryEnvironment(sleep: { _ in try await Task.sleep(for: .milliseconds(2)) },
                                                                                   now: { Date() }, random: { 0.5 }),
                                                logger: testLogger)
        } else {
            provider = OfflineProvider(logger: testLogger)
        }
        let own: [String: any LLMProvider] = orgServers.mapValues { server in
            OpenAICompatibleProvider(configuration: .compatible(baseURL: server.baseURL, apiKey: "sk-org"), priceTable: prices, logger: testLogger)
        }
        var options = options
        if let postgres = store as? PostgresEventStore {
            // The read models the runtime keeps in PostgreSQL, read as it reads them: the caps, the
            // outbox and data_query_tool run on the shared models in this pass.
            let models = PostgresReadModelCatalog.projectors.map { PostgresReadModel(projector: $0, store: postgres, logger: testLogger) }
            for model in models { try await model.prepare() }
            let readers = PostgresReaders(models)
            options.dataQueries = readers.dataQueries
            options.spend = readers.spend
            options.outbox = readers.outbox
            options.agents = readers.agents
            options.sessions = readers.sessions
            options.audit = readers.audit
        }
        return try await Pipeline(dataDirectory: dir.path, store: store, embeddedLog: log, provider: provider, prices: prices,
                                  options: options, orgProvider: { own[$0] }, logger: testLogger)
    }

    /// Simulates a restart: a new engine over the same log (the log itself stays open, as the
    /// writer's lock belongs to this process).
    func restart() async throws {
        pipeline = try await makePipeline()
    }

    /// Appends as another writer of the same store would (a process that died mid-turn).
    func append(_ drafts: [EventDraft]) async throws -> AppendResult {
        try await store.append(drafts)
    }

    deinit {
        log?.close()
        if log == nil { let store = store; Task { await store.close() } }
        server?.stop()
    }

    /// The org's events as parsed envelopes, in seq order (all orgs: the log's order, or org by
    /// org on a store whose positions are per org).
    func events(org: String? = nil) async throws -> [JSONValue] {
        var out: [JSONValue] = []
        if log != nil {
            try LogReader(directory: eventLogDirectory).scan(.init(org: org)) { record in
                if let value = try? JSONValue(parsing: record.jsonBytes) { out.append(value) }
                return true
            }
            return out
        }
        let orgs: [String]
        if let org { orgs = [org] } else { orgs = try await store.orgs().sorted() }
        for name in orgs {
            try await store.scan(EventQuery(org: name)) { batch in
                for event in batch {
                    if let value = try? JSONValue(parsing: event.line) { out.append(value) }
                }
                return true
            }
        }
        return out
    }

    func events(org: String, type: String) async throws -> [JSONValue] {
        try await events(org: org).filter { $0["type"]?.stringValue == type }
    }
}

func message(_ text: String, from: String = "+491701234567", to: String = "+4939771234567", id: String? = nil,
             channel: Channel = .whatsapp) -> Inbound {
    Inbound(channel: channel, orgAddresses: [to], from: from, text: text, externalMessageId: id ?? "wamid." + UUID().uuidString,
            receivedAt: .now(), contactName: "Max Mustermann", source: "test")
}

func startedServer(delay: Duration = .zero) throws -> LLMTestServer {
    let server = LLMTestServer(configuration: .init(delay: delay), logger: testLogger)
    try server.start()
    return server
}
