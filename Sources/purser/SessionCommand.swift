import ArgumentParser
import Foundation
import GRDB
import Projection
import PurserRuntime
import PurserDomain
import SessionsProjection

struct SessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Look at one conversation, take it over, reply as a human, release it to the agent.",
        subcommands: [SessionShow.self, SessionTakeover.self, SessionReply.self, SessionRelease.self]
    )
}

/// The org and session a session command acts on. Session ids are unique across orgs, so the
/// org may be left out; given, it must be the session's (a guard against acting in the wrong org).
struct SessionTarget: ParsableArguments {
    @Option(help: "The organization (default: the session's).") var org: String?
    @Argument(help: "The session id.") var sessionId: String

    func validate() throws {
        if org?.isEmpty == true { throw ValidationError("--org must not be empty") }
        if sessionId.isEmpty { throw ValidationError("the session id must not be empty") }
    }

    static let orgOfSessionSQL = "SELECT org FROM sessions WHERE session_id = ? LIMIT 1"

    /// The session's org, from the sessions read model (fed from `source`) when --org is not given.
    func resolvedOrg(_ global: GlobalOptions, source: ProjectionSource) throws -> String {
        if let org { return org }
        let store = try ReadModels.current(SessionsProjector.name, global, source: source)
        let sessionId = sessionId
        guard let found = try store.read({ try String.fetchOne($0, sql: Self.orgOfSessionSQL, arguments: [sessionId]) }) else {
            Output.note("no session \(sessionId)")
            throw Exit.failure
        }
        return found
    }

    /// The session's org, from the running engine's sessions model (caught up with its store at
    /// start) when --org is not given.
    func resolvedOrg(_ runtime: Runtime) async throws -> String {
        if let org { return org }
        let sessionId = sessionId
        guard let found = try await runtime.engine.readModels.read(SessionsProjector.name, { db in
            try String.fetchOne(db, sql: Self.orgOfSessionSQL, arguments: [sessionId])
        }) else {
            Output.note("no session \(sessionId)")
            throw Exit.failure
        }
        return found
    }
}

struct SessionShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "The session and its transcript, as JSON lines.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var target: SessionTarget

    func validate() throws {
        _ = try database.given()
    }

    func run() throws {
        let reading = try CommandStore.openForReading(global, database)
        defer { reading.close() }
        let org = try target.resolvedOrg(global, source: reading.source)
        let store = try ReadModels.current(SessionsProjector.name, global, source: reading.source)
        guard let session = try store.read({ try SessionsQueries.session($0, org: org, id: target.sessionId) }) else {
            Output.note("org \(org) has no session \(target.sessionId)")
            throw Exit.failure
        }
        Output.line(JSONValue.from(["sessionId": .string(session.sessionId), "agentId": session.agentId.map(JSONValue.string),
                                    "channel": session.channel.map(JSONValue.string), "contact": session.externalContact.map(JSONValue.string),
                                    "status": .string(session.status), "handedOffTo": session.handedOffTo.map(JSONValue.string)]).serialized())
        for line in try store.read({ try SessionsQueries.transcript($0, org: org, session: target.sessionId) }) {
            Output.line(JSONValue.from(["seq": .number(Double(line.seq)), "ts": .string(line.ts), "direction": .string(line.direction),
                                        "actor": .string("\(line.actorKind):\(line.actorId)"), "text": .string(line.text)]).serialized())
        }
    }
}

struct SessionTakeover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "takeover", abstract: "Take the conversation over: the agent stays silent until it is released.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var target: SessionTarget

    func run() async throws {
        try await Engine.run(global, database) { runtime in
            let org = try await target.resolvedOrg(runtime)
            emit(try await runtime.humans.takeover(org: org, sessionId: target.sessionId, by: humanActor()))
        }
    }
}

struct SessionReply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reply", abstract: "Reply to the customer as a human (through the outbox).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var target: SessionTarget
    @Argument(help: "The text to send.") var text: String

    func validate() throws {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("the reply text is empty") }
    }

    func run() async throws {
        try await Engine.run(global, database) { runtime in
            let org = try await target.resolvedOrg(runtime)
            emit(try await runtime.humans.humanReply(org: org, sessionId: target.sessionId, by: humanActor(), text: text))
        }
    }
}

struct SessionRelease: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Give the conversation back to the agent.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var target: SessionTarget

    func run() async throws {
        try await Engine.run(global, database) { runtime in
            let org = try await target.resolvedOrg(runtime)
            emit(try await runtime.humans.release(org: org, sessionId: target.sessionId, by: humanActor()))
        }
    }
}
