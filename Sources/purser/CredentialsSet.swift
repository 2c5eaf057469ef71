import ArgumentParser
import Credentials
import Foundation

struct CredentialsSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Store (or replace) one credential of an org. Prints {\"org\",\"name\",\"set\":true}, never the value.",
        discussion: """
        With VALUE '-' or no VALUE the value is read from standard input (one trailing newline dropped), so it
        stays out of shell history and process listings:
          printf %s "$KEY" | purser credentials set --org haff openrouter_api_key
        """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Argument(help: "The credential name, [a-z0-9_]{1,64} (e.g. openrouter_api_key, whatsapp_app_secret).") var name: String
    @Argument(help: "The value, or '-' (the default) to read it from stdin.") var value: String?
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let secret: String
        if let value, value != "-" {
            secret = value
        } else {
            var data = FileHandle.standardInput.readDataToEndOfFile()
            if data.last == 0x0A { data.removeLast() }
            if data.last == 0x0D { data.removeLast() }
            guard let text = String(data: data, encoding: .utf8) else {
                Output.note("error: the value on stdin is not UTF-8 text")
                throw Exit.invalidInput
            }
            secret = text
        }
        try CredentialsCommand.withStore(global, database) { try $0.set(org: org, name: name, value: secret) }
        Output.json(["org": org, "name": name, "set": true])
    }
}
