import ArgumentParser
import Foundation

@main
struct Purser: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purser",
        abstract: "An event-sourced engine that gives every organization an AI agent of its own.",
        subcommands: [Demo.self, LogCommand.self, AgentCommand.self, ObjectsCommand.self, ProjectionsCommand.self, QueryCommand.self, PolicyCommand.self, Ingest.self, Serve.self, TokenCommand.self, SessionsCommand.self, SessionCommand.self, ApprovalsCommand.self, Approve.self, Reject.self, SpendCommand.self, OutboxCommand.self, ReplayCommand.self, AuditCommand.self, CredentialsCommand.self]
    )

    /// Exit status per DESIGN.md: 0 success, 1 failure, 2 invalid input (argument-parser's
    /// usage errors become 2 instead of 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
