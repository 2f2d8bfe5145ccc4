import ArgumentParser

/// The `corral` command: a thin entry point over the library modules.
@main
struct Corral: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corral",
        abstract: "An OpenAI-compatible, NIM-style LLM inference server on llama.cpp.",
        subcommands: [ServeCommand.self, GenerateCommand.self, SimulateCommand.self, DownloadCommand.self,
                      ListProfilesCommand.self, PlanCommand.self, BenchCommand.self],
        defaultSubcommand: ServeCommand.self)

    /// Parses the process's arguments with on/off flags expanded (`Toggle`), then runs.
    static func main() async {
        await main(Toggle.expandingToggles(Array(CommandLine.arguments.dropFirst())))
    }
}
