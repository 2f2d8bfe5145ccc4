import CorralCore
import Foundation
@testable import LlamaEngine
import Testing

/// LoRA adapters on the real engine and SmolLM2, with random adapters made by
/// `scripts/make-test-lora.py` (`make lora-adapters`).
@Suite("LoRA adapters on the engine", .serialized)
struct LoRAAdapterTests {
    static let prompt: [Token] = try! TestModels.smol.tokenize("The capital of France is", addSpecial: true, parseSpecial: false)

    static func greedy(_ context: LlamaContext) throws -> [Token] {
        try context.generate(prompts: [prompt], maxTokens: 12)[0]
    }

    @Test("The header gives rank, alpha and tensor count; the file loads")
    func headerAndLoad() throws {
        let header = try LlamaAdapter.header(path: TestModels.lora("a"))
        #expect(header == LlamaAdapter.Header(architecture: "llama", rank: 8, alpha: 8, tensors: 60))
        _ = try LlamaAdapter(model: TestModels.smol, path: TestModels.lora("a"), maxRank: 16)
    }

    @Test("Greedy output differs under an adapter, equals the base at scale 0 and after it is removed")
    func adapterChangesOutputAndScaleZeroDoesNot() throws {
        let context = try TestModels.context(TestModels.smol)
        let adapter = try LlamaAdapter(model: TestModels.smol, path: TestModels.lora("a"), maxRank: 16)
        let base = try Self.greedy(context)
        context.useAdapter(adapter)
        let adapted = try Self.greedy(context)
        context.useAdapter(adapter, scale: 0)
        let zero = try Self.greedy(context)
        context.useAdapter(nil)
        let after = try Self.greedy(context)
        #expect(adapted != base)
        #expect(zero == base)
        #expect(after == base)
    }

    @Test("Files that are not this model's LoRA adapter are refused with the reason")
    func badAdaptersAreRefused() throws {
        func reason(_ path: String, maxRank: Int = 16) -> String {
            do {
                _ = try LlamaAdapter(model: TestModels.smol, path: path, maxRank: maxRank)
                return "loaded"
            } catch {
                return error.description
            }
        }
        #expect(reason(TestModels.lora("wrong-arch")).contains("made for a qwen2 model"))
        #expect(reason(TestModels.lora("rank64")).contains("rank 64 is over the limit of 16"))
        #expect(reason(TestModels.lora("rank64"), maxRank: 64) == "loaded")
        #expect(reason(TestModels.smolPath).contains("not a LoRA adapter"))
        // Cut short: the header parses, the tensor data is missing.
        let cut = FileManager.default.temporaryDirectory.appendingPathComponent("corral-cut-lora.gguf").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: TestModels.lora("a")))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        defer { try? FileManager.default.removeItem(atPath: cut) }
        #expect(reason(cut) != "loaded")
        #expect(reason("/nonexistent/adapter.gguf") != "loaded")
    }

    @Test("The executor runs each sequence under the adapter its work names")
    func executorSwitchesAdapters() throws {
        let executor = LlamaExecutor(context: try TestModels.context(TestModels.smol, sequences: 2))
        let a = try executor.loadAdapter(path: TestModels.lora("a"), maxRank: 16)
        let b = try executor.loadAdapter(path: TestModels.lora("b"), maxRank: 16)
        #expect(a.id != b.id && a.id != 0 && a.rank == 8)
        // The first token and its log-probability: the adapters move the distribution even
        // where the argmax stays.
        func first(_ adapter: Int) throws -> String {
            executor.open(slot: 0, sampling: .greedy, history: [])
            defer { executor.release(slot: 0) }
            let work = SequenceWork(slot: 0, startPosition: 0, tokens: Self.prompt[...], sample: true, logprobs: 0,
                                    adapter: adapter)
            let sampled = try executor.execute([work])[0][0]
            return "\(sampled.token) \(sampled.logprobs?.logprob ?? .nan)"
        }
        let tokens = try [0, a.id, b.id, 0, a.id].map(first)
        #expect(tokens[0] == tokens[3] && tokens[1] == tokens[4], "the same adapter gives the same distribution")
        #expect(Set([tokens[0], tokens[1], tokens[2]]).count == 3, "\(tokens)")
        // One step may mix them (engine patch 0002; MixedLoRATests goes further).
        let mixed = [SequenceWork(slot: 0, startPosition: 0, tokens: Self.prompt[...], sample: true, adapter: a.id),
                     SequenceWork(slot: 1, startPosition: 0, tokens: Self.prompt[...], sample: true, adapter: b.id)]
        for slot in 0..<2 { executor.open(slot: slot, sampling: .greedy, history: []) }
        let both = try executor.execute(mixed).map { "\($0[0].token)" }
        for slot in 0..<2 { executor.release(slot: slot) }
        #expect(both == [tokens[1], tokens[2]].map { String($0.split(separator: " ")[0]) })
        executor.unloadAdapter(a.id)
        #expect(throws: ExecutorError.self) { try first(a.id) }
        #expect(try first(0) == tokens[0])
    }
}
