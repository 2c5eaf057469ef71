import AgentsProjection
import ArgumentParser
import EventLog
import Foundation
import PurserDomain
import Tools

struct AgentApply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Validate an org_agent configuration and apply it (appends agent.configured).",
        discussion: """
        FILE holds the org_agent JSON of docs/INPUT-FORMATS.md ("-" for standard input). It is checked against the
        routing table of the agents read model, so an address bound to another org's agent is refused.
        An invalid config changes nothing: every problem is listed on stderr and as a JSON line
        {"problem":{"path","message"}} on stdout, and the exit status is 2. A valid one is appended as
        agent.configured with the full effective config (defaults filled in, addresses normalized) to the
        stream agent:<agentId> of its organizationId, and one JSON line says which revision and seq.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("The configuration file, or - for standard input.", valueName: "FILE")) var file: String

    func validate() throws {
        _ = try database.given()
        if file != "-" && !FileManager.default.fileExists(atPath: file) {
            throw ValidationError("no such file: \(file)")
        }
    }

    func run() throws {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: file) else { throw CLIError(.readFailed, "cannot read \(file)") }
            data = d
        }
        let writer = try CommandStore.open(global, database)
        defer { writer.close() }
        let agents = try ReadModels.current(AgentsProjector.name, global, source: writer.source)
        let routing = try agents.read { try AgentsQueries.routingTable($0) }
        let config: OrgAgentConfig
        do {
            config = try OrgAgentConfig.load(data, tools: ToolCatalog.standard.acceptedNames, routing: routing)
        } catch {
            Output.note("\(file): \(error.message)")
            for problem in error.problems {
                Output.note("  - \(problem)")
                Output.line(JSONValue.from(["problem": .object(["path": .string(problem.path), "message": .string(problem.message)])]).serialized())
            }
            throw Exit.invalidInput
        }
        let org = config.organizationId
        let agentId = config.agentId
        let previous = try agents.read { try AgentsQueries.agent($0, org: org, agentId: agentId) }
        let payload = AgentConfigured(agentId: agentId, revision: (previous?.revision ?? 0) + 1, config: config)
        let encoded = try EventCatalog.standard.encode(payload)
        let stream = EventStream.agent(agentId)
        // Two applies racing for one agent: the second fails rather than both claiming a revision.
        let expected = ExpectedVersion(org: org, stream: stream, version: try writer.streamVersion(org: org, stream: stream))
        let result = try writer.append([EventDraft(org: org, stream: stream, type: encoded.type, version: encoded.version,
                                                   data: Array(encoded.data), actor: Actor(.human, commandLineActor()))],
                                       expecting: [expected])
        try agents.catchUp()
        Output.line(JSONValue.from([
            "org": .string(org), "agentId": .string(agentId), "revision": .number(Double(payload.revision)),
            "seq": .number(Double(result.seqs[0])), "status": .string(config.status.rawValue),
        ]).serialized())
        Output.note("applied revision \(payload.revision) of \(org)/\(agentId) (seq \(result.seqs[0]))")
    }
}
