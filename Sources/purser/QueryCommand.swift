import ArgumentParser
import CRMProjection
import Foundation
import GRDB
import PurserCore
import PostgresReadModels
import PurserDomain
import Tools

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run the data query tool exactly as an org's agent would, and print what it receives.",
        discussion: """
        JSON is a \(ToolDefinition.dataQuery.name) query (docs/QUERY-LANGUAGE.md), e.g.
          purser query --org haff '{"objectType":"booking","filters":[{"field":"status","op":"eq","value":"confirmed"}]}'
        The org comes from --org only, as it comes from the agent's context in the pipeline. A bad query prints
        {"error":{"code","message","field"}} (what the model would see) and exits 2. With --database (or
        PURSER_DATABASE_URL) the query runs on the crm read model in PostgreSQL, caught up first, with the same answers.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The organization whose data is queried.") var org: String
    @Argument(help: "The query, as JSON.") var query: String

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
        _ = try database.given()
    }

    func run() async throws {
        let arguments: JSONValue
        do {
            arguments = try JSONValue(parsing: query)
        } catch {
            Output.note("the query is not valid JSON: \(error)")
            throw Exit.invalidInput
        }
        let org = org
        let result: JSONValue
        if let url = try database.given() {
            result = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.query") { store in
                guard let model = DatabaseModels.models(store, names: [CRMProjector.name]).first else { return JSONValue.null }
                try await model.prepare()
                do throws(ToolError) {
                    let parsed = try DataQuery.parse(arguments, now: Timestamp.now())
                    return try await PostgresDataQueries(model: model).run(parsed, org: org, scope: .organization)
                } catch {
                    return error.json
                }
            }
        } else {
            let global = global
            result = try await BlockingIO.run { () throws(any Error) -> JSONValue in
                let store = try ReadModels.current(CRMProjector.name, global)
                var config = Configuration()
                config.readonly = true
                let reader = try DatabaseQueue(path: store.path, configuration: config)
                return DataQueryEngine(reader: reader).execute(arguments: arguments, org: org, now: Timestamp.now())
            }
        }
        Output.line(result.serialized())
        if result["error"] != nil { throw Exit.invalidInput }
    }
}
