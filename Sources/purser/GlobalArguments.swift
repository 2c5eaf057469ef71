import ArgumentParser

/// Lets the global options come before the subcommand, as git and docker take them:
/// `purser --data DIR log cat` means `purser log cat --data DIR`. swift-argument-parser gives a
/// parent's options to no child, and every command already declares `GlobalOptions`, so the leading
/// ones are moved behind the subcommand's name before parsing.
enum GlobalArguments {
    /// The options of `GlobalOptions`, each taking a value.
    static let names: Set<String> = ["--data", "--log-level", "--log-format"]

    /// `arguments` (without the program name) with the global options that lead them moved to
    /// just after the subcommand path (`log cat`), where that command parses them as its own. An
    /// explicit later occurrence still wins, as the parser keeps the last.
    static func hoist(_ arguments: [String], root: any ParsableCommand.Type) -> [String] {
        var leading: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if names.contains(a), i + 1 < arguments.count {
                leading += [a, arguments[i + 1]]
                i += 2
            } else if let eq = a.firstIndex(of: "="), names.contains(String(a[..<eq])) {
                leading.append(a)
                i += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return arguments }
        var rest = Array(arguments[i...])
        var command = root
        var depth = 0
        while depth < rest.count, let sub = subcommand(of: command, named: rest[depth]) {
            command = sub
            depth += 1
        }
        // Only a command that runs takes them; before a group's name (`purser --data D log`) or
        // none, they are dropped, so the parser shows the group's usage as it would without them.
        if !command.configuration.subcommands.isEmpty && command.configuration.defaultSubcommand == nil { return rest }
        rest.insert(contentsOf: leading, at: depth)
        return rest
    }

    private static func subcommand(of command: any ParsableCommand.Type, named name: String) -> (any ParsableCommand.Type)? {
        command.configuration.subcommands.first { $0._commandName == name || $0.configuration.aliases.contains(name) }
    }

    /// The `GlobalOptions` a parsed command holds, if it declares them (`@OptionGroup var global`);
    /// group commands such as `log` have none.
    static func options(of command: any ParsableCommand) -> GlobalOptions? {
        Mirror(reflecting: command).children.lazy.compactMap { ($0.value as? OptionGroup<GlobalOptions>)?.wrappedValue }.first
    }
}
