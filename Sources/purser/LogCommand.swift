import ArgumentParser

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "The event log: raw events, appends, figures and integrity.",
        subcommands: [LogCat.self, LogAppend.self, LogStatsCommand.self, LogVerify.self]
    )
}
