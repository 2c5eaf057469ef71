import ArgumentParser
import Foundation
import OutboxProjection
import Pipeline
import PostgresReadModels
import PurserCore
import PurserDomain

struct OutboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Outbound messages for channel connectors, and their delivery.",
        discussion: "A connector lists what to send (`purser outbox`), sends it, then acknowledges it (`purser outbox ack ID --external-id ID`), so a later channel status (WhatsApp read/failed) is matched to it.",
        subcommands: [OutboxList.self, OutboxAck.self],
        defaultSubcommand: OutboxList.self
    )
}

struct OutboxList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Messages waiting for delivery (one JSON line each, oldest first).",
        discussion: "With --database (or PURSER_DATABASE_URL) the outbox is read from the model kept in PostgreSQL, which every node's replies reach."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Only this org's messages (default: every org, for a connector serving all).") var org: String?
    @Option(help: "pending (default), failed, drafted, or all.") var state: String = "pending"

    func validate() throws {
        guard ["pending", "failed", "drafted", "all"].contains(state) else { throw ValidationError("--state must be pending, failed, drafted or all") }
        _ = try database.given()
    }

    func run() async throws {
        let (global, org) = (self.global, self.org)
        let states = state == "all" ? ["pending", "failed", "drafted"] : [state]
        let messages: [OutboxRecord]
        if let url = try database.given() {
            messages = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.projections") { store in
                guard let model = DatabaseModels.models(store, names: [OutboxProjector.name]).first else {
                    preconditionFailure("the outbox read model is kept in PostgreSQL (PostgresReadModelCatalog)")
                }
                try await model.prepare()
                return try await PostgresOutboxQueries(model: model).messages(org: org, states: states)
            }
        } else {
            messages = try await BlockingIO.run { () throws(any Error) -> [OutboxRecord] in
                let store = try ReadModels.current(OutboxProjector.name, global)
                return try store.read { try OutboxQueries.messages($0, org: org, states: states) }
            }
        }
        for m in messages {
            Output.line(JSONValue.from([
                "messageId": .string(m.messageId), "org": .string(m.org), "state": .string(m.state), "channel": .string(m.channel),
                "from": m.from.map(JSONValue.string), "to": .string(m.to), "text": .string(m.text), "sessionId": m.sessionId.map(JSONValue.string),
                "agentId": m.agentId.map(JSONValue.string), "error": m.error.map(JSONValue.string), "seq": .number(Double(m.seq)),
            ]).serialized())
        }
    }
}

struct OutboxAck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ack", abstract: "Record what became of sent messages (message.delivered).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "delivered (default), read, or failed.") var status: String = "delivered"
    @Option(help: "The channel's id for the sent message (e.g. the wamid WhatsApp returned).") var externalId: String?
    @Option(help: "Why delivery failed, with --status failed.") var error: String?
    @Argument(help: "Outbox message ids.") var ids: [String]

    func validate() throws {
        guard MessageDelivered.Status(rawValue: status) != nil else { throw ValidationError("--status must be delivered, read or failed") }
        if ids.isEmpty { throw ValidationError("name at least one message id") }
        if externalId != nil, ids.count > 1 { throw ValidationError("--external-id names one message; acknowledge one id at a time with it") }
    }

    func run() async throws {
        try await Engine.run(global, database) { runtime in
            var failed = false
            for id in ids {
                do {
                    emit(try await runtime.engine.acknowledge(messageId: id, status: MessageDelivered.Status(rawValue: status) ?? .delivered,
                                                               externalId: externalId, error: error, by: "cli:" + humanActor()))
                } catch {
                    Output.note("\(id): \(error)")
                    failed = true
                }
            }
            if failed { throw Exit.failure }
        }
    }
}
