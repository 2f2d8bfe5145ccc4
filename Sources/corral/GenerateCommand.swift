import ArgumentParser
import Foundation
import CorralCore
import LlamaEngine

/// `corral generate`: one prompt in, text out, straight through the engine.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text for one prompt and print it with its speed.")

    @Argument(help: "The prompt.")
    var prompt: String
    @Option(help: "GGUF path or cached model name (NIM_MODEL_NAME).")
    var model: String?
    @Option(help: "Model cache directory (NIM_CACHE_PATH).")
    var cachePath: String?
    @Option(help: "Most tokens to generate.")
    var maxTokens: Int = 128
    @Option(help: "Temperature; 0 is greedy.")
    var temperature: Float = 0
    @Option(help: "Random seed.")
    var seed: UInt32?
    @Option(help: "CPU threads (0: engine default).")
    var threads: Int = 0
    @Flag(help: "Wrap the prompt in the model's chat template as a user message.")
    var chat = false

    func run() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard temperature >= 0 else { throw ValidationError("--temperature must not be negative") }
        let cache = cachePath ?? Environment.string("NIM_CACHE_PATH") ?? "/opt/nim/.cache"
        let name = model ?? Environment.string("NIM_MODEL_NAME") ?? "SmolLM2-135M-Instruct"
        do {
            let path = try ModelLocator.resolve(name, cacheDirectory: cache)
            let llama = try LlamaModel(path: path)
            let text = chat ? try llama.renderChat(ChatRequest(messages: [ChatMessage(role: "user", content: prompt)])).prompt : prompt
            let tokens = try llama.tokenize(text, addSpecial: true, parseSpecial: chat)
            let context = try LlamaContext(model: llama, options: .init(
                contextLength: tokens.count + maxTokens, batchCapacity: 512, threads: threads,
                flashAttention: llama.metadata.architecture == "deci" ? true : nil))
            var detok = IncrementalDetokenizer()
            let start = ContinuousClock.now
            var firstToken: Duration?
            let output = try context.generate(
                prompts: [tokens], maxTokens: maxTokens,
                parameters: SamplingParameters(temperature: temperature, seed: seed)) { _, token in
                    if firstToken == nil { firstToken = ContinuousClock.now - start }
                    FileHandle.standardOutput.write(Data(detok.append(llama.tokenBytes(token)).utf8))
                }
            print(detok.flush())
            let total = ContinuousClock.now - start
            let decodeSeconds = seconds(total - (firstToken ?? .zero))
            let rate = output[0].count > 1 ? Double(output[0].count - 1) / decodeSeconds : 0
            let report = String(format: "\n[%d prompt tokens, %d generated; first token %.0f ms; %.1f tokens/s decode]\n",
                                tokens.count, output[0].count, seconds(firstToken ?? .zero) * 1000, rate)
            FileHandle.standardError.write(Data(report.utf8))
        } catch {
            throw ValidationError(error.message)
        }
    }

    private func seconds(_ d: Duration) -> Double {
        d.seconds
    }
}
