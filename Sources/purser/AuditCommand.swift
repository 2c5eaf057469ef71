import ArgumentParser
import Audit
import EventLog
import PostgresStore
import Foundation

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check an org's history against the policy in force at each event, and the log's integrity; exit 1 on any violation.",
        discussion: "With --config NEW.json, also list the past actions the proposed configuration would have denied or held for approval (a report: exit 0). With --database (or PURSER_DATABASE_URL), the org's history is read from PostgreSQL and the integrity check is that store's verify of the org."
    )

    enum Format: String, ExpressibleByArgument { case text, json }

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Option(help: "text (report for people) or json (one document).") var format: Format = .text
    @Option(help: ArgumentHelp("A proposed org_agent config: what would it have denied or held?", valueName: "NEW.json")) var config: String?

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
        _ = try database.given()
    }

    func run() async throws {
        let report: AuditReport
        do {
            let proposed = try config.map(Auditor.loadProposedConfig)
            if let url = try database.given() {
                report = try await StoreAccess.withDatabase(url, migrate: false, label: "purser.audit") { store in
                    try await Auditor(store: store, logger: LogSetup.logger("purser.audit")).audit(of: org, proposed: proposed)
                }
            } else {
                let auditor = try Auditor(reader: LogReader(directory: global.eventLogDirectory), logger: LogSetup.logger("purser.audit"))
                report = try auditor.audit(org: org, proposed: proposed)
            }
        } catch let error as AuditError {
            Output.note(error.description)
            throw error.code == .invalidConfig ? Exit.invalidInput : Exit.failure
        }
        switch format {
        case .json:
            FileHandle.standardOutput.write(try report.json() + Data([10]))
        case .text:
            Output.line(report.text().joined(separator: "\n"))
        }
        if config != nil { return }
        if !report.ok {
            Output.note("audit failed: \(report.violations.count) violation(s)")
            throw Exit.failure
        }
    }
}
