import ArgumentParser
import Foundation

@main
struct Purser: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purser",
        abstract: "An event-sourced engine that gives every organization an AI agent of its own.",
        discussion: """
        The global options --data, --log-level and --log-format go before the subcommand or after it: \
        `purser --data DIR agent list` is `purser agent list --data DIR`.
        """,
        subcommands: [Demo.self, LogCommand.self, AgentCommand.self, ObjectsCommand.self, ProjectionsCommand.self, QueryCommand.self, PolicyCommand.self, Ingest.self, Serve.self, TokenCommand.self, SessionsCommand.self, SessionCommand.self, ApprovalsCommand.self, Approve.self, Reject.self, SpendCommand.self, OutboxCommand.self, ReplayCommand.self, AuditCommand.self, CredentialsCommand.self, DbCommand.self, StoreCommand.self]
    )

    /// Exit status per docs/CLI.md: 0 success, 1 failure, 2 invalid input (argument-parser's
    /// usage errors become 2 instead of 64). Leading global options are moved behind the
    /// subcommand first; logging is set up once, from the parsed options, before the command runs.
    static func main() async {
        do {
            var command = try parseAsRoot(GlobalArguments.hoist(Array(CommandLine.arguments.dropFirst()), root: Purser.self))
            LogSetup.bootstrap(GlobalArguments.options(of: command))
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
