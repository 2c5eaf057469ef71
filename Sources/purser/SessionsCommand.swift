import AgentsProjection
import ArgumentParser
import Foundation
import PostgresReadModels
import PurserCore
import PurserDomain
import SessionsProjection

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List an org's sessions (one JSON line each), newest activity first.",
        discussion: "With --database (or PURSER_DATABASE_URL) the sessions are read from the model kept in PostgreSQL, which every node's conversations reach."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The organization (default: every org).") var org: String?
    @Option(help: "Only sessions in this status: active, handed_off, closed.") var status: String?
    @Option(help: "Only sessions on this channel.") var channel: String?

    func validate() throws {
        if org?.isEmpty == true { throw ValidationError("--org must not be empty") }
        if let status, !["active", "handed_off", "closed"].contains(status) {
            throw ValidationError("unknown --status \(status); use active, handed_off or closed")
        }
        if let channel, Channel(rawValue: channel) == nil {
            throw ValidationError("unknown --channel \(channel); use one of \(Channel.allNames)")
        }
        _ = try database.given()
    }

    func run() async throws {
        let (global, org, status, channel) = (self.global, self.org, self.status, self.channel)
        let rows: [SessionRecord]
        if let url = try database.given() {
            // The sessions model kept in PostgreSQL, which every node's conversations reach (built
            // here if it never was); the orgs from the agents model there.
            rows = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.projections") { store in
                let models = DatabaseModels.models(store, names: [AgentsProjector.name, SessionsProjector.name])
                guard let agents = models.first(where: { $0.name == AgentsProjector.name }),
                      let sessions = models.first(where: { $0.name == SessionsProjector.name }) else {
                    preconditionFailure("the agents and sessions read models are kept in PostgreSQL (PostgresReadModelCatalog)")
                }
                for model in models { try await model.prepare() }
                var orgs = org.map { [$0] } ?? []
                if org == nil { orgs = Array(Set(try await PostgresAgentsQueries(model: agents).agents(org: nil).map(\.org))).sorted() }
                var out: [SessionRecord] = []
                for org in orgs { out += try await PostgresSessionsQueries(model: sessions).sessions(org: org, status: status) }
                return out
            }
        } else {
            rows = try await ReadModels.withSource(global, database) { source in
                let store = try ReadModels.current(SessionsProjector.name, global, source: source)
                return try (org.map { [$0] } ?? ReadModels.orgs(global, source: source)).flatMap { org in
                    try store.read { try SessionsQueries.sessions($0, org: org, status: status) }
                }
            }
        }
        for row in rows where channel == nil || row.channel == channel {
            Output.line(JSONValue.from([
                "org": .string(row.org), "sessionId": .string(row.sessionId), "agentId": row.agentId.map(JSONValue.string), "channel": row.channel.map(JSONValue.string),
                "contact": row.externalContact.map(JSONValue.string), "crmContactId": row.crmContact.map(JSONValue.string),
                "status": .string(row.status), "handedOffTo": row.handedOffTo.map(JSONValue.string),
                "lastMessageAt": row.lastMessageAt.map(JSONValue.string), "messages": .number(Double(row.messageCount)),
                "tokens": .number(Double(row.tokensUsed)), "costUsd": .number(row.costUsd),
            ]).serialized())
        }
    }
}
