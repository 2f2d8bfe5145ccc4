import ArgumentParser

/// The `corral` command: a thin entry point over the library modules.
@main
struct Corral: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corral",
        abstract: "An OpenAI-compatible, NIM-style LLM inference server on llama.cpp.",
        subcommands: [ServeCommand.self, GenerateCommand.self, SimulateCommand.self, DownloadCommand.self,
                      ListProfilesCommand.self, PlanCommand.self, BenchCommand.self, RPCServerCommand.self],
        defaultSubcommand: ServeCommand.self)

    /// Parses the process's arguments with on/off flags expanded (`Toggle`), then runs.
    /// The on/off flags are `serve`'s (the default subcommand); another subcommand's
    /// arguments are left alone, since its own flags may share a name (`bench --embeddings`).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let first = arguments.first, first != "serve", subcommandNames.contains(first) {
            await main(arguments)
        } else {
            await main(Toggle.expandingToggles(arguments))
        }
    }

    /// The subcommands' names, as typed.
    static var subcommandNames: Set<String> {
        var names: Set<String> = []
        for command in configuration.subcommands {
            if let name = command.configuration.commandName { names.insert(name) }
        }
        return names
    }
}
