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
}
