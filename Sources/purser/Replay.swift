import ArgumentParser
import Audit
import EventLog
import PostgresStore
import Foundation

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "An org's history, for audit: grouped by session as an activity log (text) or as the raw events (jsonl).",
        discussion: "With --database (or PURSER_DATABASE_URL), the history is read from PostgreSQL, whose seqs count within the org."
    )

    enum Format: String, ExpressibleByArgument { case text, jsonl }

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Option(help: "Only this session's events.") var session: String?
    @Option(help: ArgumentHelp("From this seq or ISO-8601 time (inclusive).", valueName: "T")) var since: String?
    @Option(help: ArgumentHelp("Up to this seq or ISO-8601 time (inclusive).", valueName: "T")) var until: String?
    @Option(help: ArgumentHelp("Only event types starting with this (e.g. tool.).", valueName: "PREFIX")) var type: String?
    @Option(help: "text (activity log) or jsonl (raw events).") var format: Format = .text
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
        for bound in [since, until].compactMap({ $0 }) {
            if case .failure(let error) = Result(catching: { () throws(AuditError) -> ReplayBound in try ReplayBound.parse(bound) }) {
                throw ValidationError(error.message)
            }
        }
        _ = try database.given()
    }

    func run() async throws {
        if let url = try database.given() {
            let options = ReplayOptions(org: org, session: session, since: try since.map(ReplayBound.parse),
                                        until: try until.map(ReplayBound.parse), typePrefix: type)
            try await StoreAccess.withDatabase(url, migrate: false, label: "purser.replay") { store in
                let replayer = Replayer(store: store, logger: LogSetup.logger("purser.replay"))
                let out = BufferedOutput()
                do {
                    switch format {
                    case .jsonl:
                        try await replayer.jsonl(of: options) { line in line.withUnsafeBytes { out.write($0) } }
                    case .text:
                        for line in try await replayer.text(of: options) { out.write(line) }
                    }
                } catch let error as AuditError {
                    out.flush()
                    Output.note(error.description)
                    throw error.code == .invalidBound ? Exit.invalidInput : Exit.failure
                }
                out.flush()
            }
            return
        }
        let options = ReplayOptions(org: org, session: session, since: try since.map(ReplayBound.parse),
                                    until: try until.map(ReplayBound.parse), typePrefix: type)
        let replayer = Replayer(reader: LogReader(directory: global.eventLogDirectory), logger: LogSetup.logger("purser.replay"))
        let out = BufferedOutput()
        do {
            switch format {
            case .jsonl:
                try replayer.jsonl(options) { line in line.withUnsafeBytes { out.write($0) } }
            case .text:
                for line in try replayer.text(options) { out.write(line) }
            }
        } catch {
            out.flush()
            Output.note(error.description)
            throw error.code == .invalidBound ? Exit.invalidInput : Exit.failure
        }
        out.flush()
    }
}
