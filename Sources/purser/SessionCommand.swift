import ArgumentParser
import Foundation
import PurserDomain
import SessionsProjection

struct SessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Look at one conversation, take it over, reply as a human, release it to the agent.",
        subcommands: [SessionShow.self, SessionTakeover.self, SessionReply.self, SessionRelease.self]
    )
}

/// The org and session a session command acts on.
struct SessionTarget: ParsableArguments {
    @Option(help: "The organization.") var org: String
    @Argument(help: "The session id.") var sessionId: String

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
        if sessionId.isEmpty { throw ValidationError("the session id must not be empty") }
    }
}

struct SessionShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "The session and its transcript, as JSON lines.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: SessionTarget

    func run() throws {
        let store = try ReadModels.current(SessionsProjector.name, global)
        guard let session = try store.read({ try SessionsQueries.session($0, org: target.org, id: target.sessionId) }) else {
            Output.note("org \(target.org) has no session \(target.sessionId)")
            throw Exit.failure
        }
        Output.line(JSONValue.from(["sessionId": .string(session.sessionId), "agentId": session.agentId.map(JSONValue.string),
                                    "channel": session.channel.map(JSONValue.string), "contact": session.externalContact.map(JSONValue.string),
                                    "status": .string(session.status), "handedOffTo": session.handedOffTo.map(JSONValue.string)]).serialized())
        for line in try store.read({ try SessionsQueries.transcript($0, org: target.org, session: target.sessionId) }) {
            Output.line(JSONValue.from(["seq": .number(Double(line.seq)), "ts": .string(line.ts), "direction": .string(line.direction),
                                        "actor": .string("\(line.actorKind):\(line.actorId)"), "text": .string(line.text)]).serialized())
        }
    }
}

struct SessionTakeover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "takeover", abstract: "Take the conversation over: the agent stays silent until it is released.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: SessionTarget

    func run() async throws {
        let engine = try Engine.open(global)
        defer { engine.close() }
        emit(try await engine.pipeline.takeover(org: target.org, sessionId: target.sessionId, by: humanActor()))
    }
}

struct SessionReply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reply", abstract: "Reply to the customer as a human (through the outbox).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: SessionTarget
    @Argument(help: "The text to send.") var text: String

    func validate() throws {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("the reply text is empty") }
    }

    func run() async throws {
        let engine = try Engine.open(global)
        defer { engine.close() }
        emit(try await engine.pipeline.humanReply(org: target.org, sessionId: target.sessionId, by: humanActor(), text: text))
    }
}

struct SessionRelease: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Give the conversation back to the agent.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: SessionTarget

    func run() async throws {
        let engine = try Engine.open(global)
        defer { engine.close() }
        emit(try await engine.pipeline.release(org: target.org, sessionId: target.sessionId, by: humanActor()))
    }
}
