import AgentsProjection
import EventLog
import EventStore
import Foundation
import GRDB
import PostgresNIO
import PostgresReadModels
import PostgresStore
import PostgresTestSupport
import Projection
import PurserCore
import PurserDomain
import PurserTestSupport
import Testing

/// The agents model in PostgreSQL holds exactly what its SQLite twin holds after random histories
/// of configs and status changes in two orgs (every column of its four tables compared), and its
/// reads answer as `AgentsQueries` do.
@Suite("agents read model in PostgreSQL", .serialized, .enabled(if: TestDatabase.enabled))
struct AgentsModelTests {
    static func draft<P: EventPayload>(_ org: String, _ payload: P, stream: String, ms: Int64, actor: Actor) throws -> EventDraft {
        let encoded = try EventCatalog.standard.encode(payload)
        return EventDraft(org: org, stream: stream, type: encoded.type, version: encoded.version, data: Array(encoded.data), actor: actor,
                          timestampMs: ms)
    }

    static func config(org: String, agent: String, name: String, status: AgentStatus, bindings: [(String, String, Bool)]) throws -> OrgAgentConfig {
        let bound = bindings.map { #"{"channel":"\#($0.0)","enabled":\#($0.2),"address":"\#($0.1)"}"# }.joined(separator: ",")
        let json = """
            {"type":"org_agent","subtype":"\(agent)","organizationId":"\(org)","name":"\(name)","status":"\(status.rawValue)",
             "customProperties":{"language":"de","autonomyLevel":"supervised","maxMessagesPerDay":100,"maxCostPerDay":5,
             "channelBindings":[\(bound)]}}
            """
        // Not refused for its problems: the log may hold what validation refuses (two claims of one address).
        return OrgAgentConfig.parse(try JSONValue(parsing: json)).config
    }

    static func history(seed: UInt64, count: Int) throws -> [EventDraft] {
        var random = SeededRandom(seed: seed)
        var revisions: [String: Int] = [:]
        var statuses: [String: AgentStatus] = [:]
        var out: [EventDraft] = []
        for i in 0..<count {
            let org = Bool.random(using: &random) ? "haff" : "kite"
            let agent = ["primary", "sales"].randomElement(using: &random)!
            let key = org + "/" + agent
            let ms = 1_764_000_000_000 + Int64(i) * 1000
            let actor = Bool.random(using: &random) ? Actor(.human, "owner-\(i % 3)") : Actor(.system, "purser")
            if revisions[key] == nil || Int.random(in: 0..<3, using: &random) == 0 {
                let revision = (revisions[key] ?? 0) + 1
                revisions[key] = revision
                let status = AgentStatus.allCases.randomElement(using: &random)!
                statuses[key] = status
                var bindings: [(String, String, Bool)] = []
                if Bool.random(using: &random) { bindings.append(("whatsapp", "+49170\(Int.random(in: 0..<6, using: &random))", Bool.random(using: &random))) }
                if Bool.random(using: &random) { bindings.append(("email", "\(agent)-\(Int.random(in: 0..<4, using: &random))@\(org).example", true)) }
                if Bool.random(using: &random) { bindings.append(("webchat", "\(org)-web", true)) }
                let config = try config(org: org, agent: agent, name: "\(agent) r\(revision) – Segelschule", status: status, bindings: bindings)
                out.append(try draft(org, AgentConfigured(agentId: agent, revision: revision, config: config), stream: "agent:\(agent)", ms: ms, actor: actor))
            } else {
                let from = statuses[key] ?? .draft
                let to = AgentStatus.allCases.randomElement(using: &random)!
                statuses[key] = to
                out.append(try draft(org, AgentStatusChanged(agentId: agent, from: from, to: to, reason: Bool.random(using: &random) ? "Wartung \(i)" : nil),
                                     stream: "agent:\(agent)", ms: ms, actor: actor))
            }
        }
        return out
    }

    static let tables: ModelDump.Tables = [
        ("agent_config_history", "org, agent_id, seq, revision, config, actor, configured_at"),
        ("agent_status_history", "org, agent_id, seq, from_status, to_status, reason, actor, changed_at"),
        ("agents", "org, agent_id, revision, name, status, config, configured_seq, configured_at, updated_seq, updated_at"),
        ("routes", "org, agent_id, channel, address, seq"),
    ]

    @Test(arguments: [21 as UInt64, 22, 23])
    func theSameRowsAndAnswersAsSQLite(seed: UInt64) async throws {
        let dir = TempDir()
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { store in
                let events = try Self.history(seed: seed, count: 120)
                for chunk in stride(from: 0, to: 60, by: 20) { _ = try await store.append(Array(events[chunk..<(chunk + 20)])) }
                let model = PostgresReadModel(projector: PostgresAgentsProjector(), store: store, logger: TestDatabase.logger)
                try await model.prepare()
                let queries = PostgresAgentsQueries(model: model)
                for chunk in stride(from: 60, to: 120, by: 7) {
                    _ = try await store.append(Array(events[chunk..<min(120, chunk + 7)]))
                    _ = try await queries.agents(org: chunk % 2 == 0 ? "kite" : nil)
                }
                let local = ProjectionStore(projector: AgentsProjector(), directory: dir.path + "/projections", source: .store(store),
                                            logger: TestDatabase.logger)
                let sqlite = try await ModelDump.sqlite(local, Self.tables)
                _ = try await queries.agents(org: nil)
                let postgres = try await ModelDump.postgres(model, url, Self.tables)
                #expect(postgres.count > 40)
                #expect(postgres == sqlite)

                let (agents, routes) = try await BlockingIO.run { () throws(any Error) in
                    try local.read { (try AgentsQueries.agents($0, org: nil), try AgentsQueries.routingTable($0)) }
                }
                #expect(try await queries.agents(org: nil) == agents)
                #expect(try await queries.routingTable() == routes)
                for org in ["haff", "kite"] {
                    #expect(try await queries.agents(org: org) == agents.filter { $0.org == org })
                    for agent in ["primary", "sales", "nobody"] {
                        let (one, history) = try await BlockingIO.run { () throws(any Error) in
                            try local.read { (try AgentsQueries.agent($0, org: org, agentId: agent), try AgentsQueries.history($0, org: org, agentId: agent)) }
                        }
                        #expect(try await queries.agent(org: org, agentId: agent) == one)
                        #expect(try await queries.history(org: org, agentId: agent) == history)
                    }
                }
            }
        }
    }
}
