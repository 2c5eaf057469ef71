import ArgumentParser
import CRMProjection
import Foundation
import GRDB
import PurserCore
import PurserDomain
import Tools

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run the data query tool exactly as an org's agent would, and print what it receives.",
        discussion: """
        JSON is a \(ToolDefinition.dataQuery.name) query (docs/QUERY-LANGUAGE.md), e.g.
          purser query --org haff '{"objectType":"booking","filters":[{"field":"status","op":"eq","value":"confirmed"}]}'
        The org comes from --org only, as it comes from the agent's context in the pipeline. A bad query prints
        {"error":{"code","message","field"}} (what the model would see) and exits 2.
        """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization whose data is queried.") var org: String
    @Argument(help: "The query, as JSON.") var query: String

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
    }

    func run() throws {
        let arguments: JSONValue
        do {
            arguments = try JSONValue(parsing: query)
        } catch {
            Output.note("the query is not valid JSON: \(error)")
            throw Exit.invalidInput
        }
        let store = try ReadModels.current(CRMProjector.name, global)
        var config = Configuration()
        config.readonly = true
        let reader = try DatabaseQueue(path: store.path, configuration: config)
        let result = DataQueryEngine(reader: reader).execute(arguments: arguments, org: org, now: Timestamp.now())
        Output.line(result.serialized())
        if result["error"] != nil { throw Exit.invalidInput }
    }
}
