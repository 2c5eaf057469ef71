import ArgumentParser
import AuditProjection
import Foundation
import Pipeline
import PurserDomain

struct ApprovalsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approvals",
        abstract: "The approval queue of an org (one JSON line each): what the agent wants to do and why it waits."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The organization (default: every org).") var org: String?
    @Option(help: "pending (default), granted, rejected, expired, or all.") var state: String = "pending"

    func validate() throws {
        if org?.isEmpty == true { throw ValidationError("--org must not be empty") }
        _ = try database.given()
        guard ["pending", "granted", "rejected", "expired", "all"].contains(state) else {
            throw ValidationError("unknown --state \(state); use pending, granted, rejected, expired or all")
        }
    }

    func run() throws {
        let reading = try CommandStore.openForReading(global, database)
        defer { reading.close() }
        let store = try ReadModels.current(AuditProjector.name, global, source: reading.source)
        let orgs = try org.map { [$0] } ?? ReadModels.orgs(global, source: reading.source)
        for org in orgs {
        for a in try store.read({ try AuditQueries.approvals($0, org: org, state: state == "all" ? nil : state) }) {
            Output.line(JSONValue.from([
                "org": .string(org), "approvalId": .string(a.approvalId), "agentId": .string(a.agentId), "sessionId": a.sessionId.map(JSONValue.string),
                "kind": .string(a.kind), "tool": a.tool.map(JSONValue.string), "summary": .string(a.summary), "rule": .string(a.rule),
                "state": .string(a.state), "decidedBy": a.decidedBy.map(JSONValue.string), "requestedAt": .string(a.requestedAt),
                "expiresAt": .string(a.expiresAt),
            ]).serialized())
        }
        }
    }
}

struct Approve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Approve a held tool call or reply; it runs, and the agent continues.",
        discussion: """
        --edit changes what runs: for a tool call, the JSON object of arguments to use instead; for a reply,
        the text to send instead (a JSON string, or plain text). The change is recorded as a diff. Exit
        status 1 when the approval was already decided (someone else was faster) or does not exist.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The organization (default: the approval's).") var org: String?
    @Option(help: "Arguments (JSON object) or reply text to use instead.") var edit: String?
    @Argument(help: "The approval id.") var approvalId: String

    func validate() throws {
        if org?.isEmpty == true { throw ValidationError("--org must not be empty") }
    }

    func run() async throws {
        try await Engine.run(global, database) { runtime in
            guard let pending = runtime.humans.pendingApproval(approvalId), org == nil || pending.org == org else {
                Output.note("\(org.map { "org \($0) has" } ?? "there is") no pending approval \(approvalId)")
                throw Exit.failure
            }
            let org = pending.org
            var arguments: JSONValue?
            var text: String?
            if let edit {
                if pending.kind == "reply" {
                    text = (try? JSONValue(parsing: edit))?.stringValue ?? edit
                } else {
                    guard let parsed = try? JSONValue(parsing: edit), case .object = parsed else {
                        Output.note("--edit must be a JSON object of the tool's arguments")
                        throw Exit.invalidInput
                    }
                    arguments = parsed
                }
            }
            do {
                emit(try await runtime.humans.approve(org: org, approvalId: approvalId, by: humanActor(), editedArguments: arguments, editedText: text))
            } catch {
                Output.note("\(error)")
                throw (error as? PipelineError)?.code == .invalidInput ? Exit.invalidInput : Exit.failure
            }
        }
    }
}

struct Reject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reject a held tool call or reply; the reason is fed back to the agent.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The organization (default: the approval's).") var org: String?
    @Option(help: "Why, for the agent and the audit trail.") var reason: String?
    @Argument(help: "The approval id.") var approvalId: String

    func validate() throws {
        if org?.isEmpty == true { throw ValidationError("--org must not be empty") }
    }

    func run() async throws {
        try await Engine.run(global, database) { runtime in
            guard let org = org ?? runtime.humans.pendingApproval(approvalId)?.org else {
                Output.note("there is no pending approval \(approvalId)")
                throw Exit.failure
            }
            do {
                emit(try await runtime.humans.reject(org: org, approvalId: approvalId, by: humanActor(), reason: reason))
            } catch {
                Output.note("\(error)")
                throw Exit.failure
            }
        }
    }
}
