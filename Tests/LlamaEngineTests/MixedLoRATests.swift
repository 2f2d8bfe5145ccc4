import CorralCore
import Foundation
@testable import LlamaEngine
import Testing

/// Several LoRA adapters and the base model in one step (engine patch 0002's adapter pool),
/// on SmolLM2 with the random adapters of `make lora-adapters`.
@Suite("LoRA adapters mixed in one step", .serialized)
struct MixedLoRATests {
    static let prompts: [[Token]] = ["The capital of France is", "Count from one to five:", "Rain falls on",
                                     "My favourite colour is"].map {
        try! TestModels.smol.tokenize($0, addSpecial: true, parseSpecial: false)
    }
    static let steps = 10

    /// Greedy tokens, with the two best log-probabilities at each, for sequences that run
    /// side by side: `runs[i]` is (slot, adapter, prompt), every one in every step.
    static func greedy(_ executor: LlamaExecutor, _ runs: [(slot: Int, adapter: Int, prompt: [Token])]) throws -> [[TokenLogprobs]] {
        for run in runs { executor.open(slot: run.slot, sampling: .greedy, history: []) }
        defer { for run in runs { executor.release(slot: run.slot) } }
        var out = Array(repeating: [TokenLogprobs](), count: runs.count)
        for step in 0..<steps {
            let work = runs.enumerated().map { i, run in
                step == 0
                    ? SequenceWork(slot: run.slot, startPosition: 0, tokens: run.prompt[...], sample: true, logprobs: 2,
                                   adapter: run.adapter)
                    : SequenceWork(slot: run.slot, startPosition: run.prompt.count + step - 1, tokens: [out[i].last!.token][...],
                                   sample: true, logprobs: 2, adapter: run.adapter)
            }
            for (i, sampled) in try executor.execute(work).enumerated() { out[i].append(sampled[0].logprobs!) }
        }
        return out
    }

    /// The same tokens, or the same up to a place where the run alone had its two best
    /// tokens within 0.3 nats: the tolerance of the speculation tests (`same_greedy_text`),
    /// as CPU kernels round a batch of sequences differently from one. Another adapter's
    /// (or the base's) tokens diverge anywhere.
    static func agrees(_ together: [TokenLogprobs], _ alone: [TokenLogprobs]) -> Bool {
        for (x, y) in zip(together, alone) where x.token != y.token {
            return y.top[0].logprob - y.top[1].logprob < 0.3
        }
        return together.count == alone.count
    }

    @Test("A step mixing three adapters and the base gives each sequence its tokens alone under its adapter")
    func mixedStepMatchesEachAlone() throws {
        let executor = LlamaExecutor(context: try TestModels.context(TestModels.smol, sequences: 4))
        #expect(executor.mixesAdapters)
        let ids = try ["a", "b", "c"].map { try executor.loadAdapter(path: TestModels.lora($0), maxRank: 16).id }
        let adapters = [0] + ids
        let runs = (0..<4).map { (slot: $0, adapter: adapters[$0], prompt: Self.prompts[0]) }
        let alone = try runs.map { try Self.greedy(executor, [$0])[0] }
        // The same prompt under four adapters: an adapter that leaked into another
        // sequence's rows, or slot ids out of order, would give it another's tokens.
        // Two adapters may agree on the greedy tokens of a prompt; their log-probabilities differ.
        #expect(Set(alone.map { $0.map { "\($0.token) \($0.logprob)" } }).count == 4, "each adapter moves the distribution")
        let together = try Self.greedy(executor, runs)
        for i in 0..<4 {
            #expect(Self.agrees(together[i], alone[i]), "adapter \(adapters[i]): \(together[i].map(\.token)) vs \(alone[i].map(\.token))")
        }
        // Other prompts, other slots for each adapter: the mix changes nothing either.
        let shuffled = (0..<4).map { (slot: $0, adapter: adapters[3 - $0], prompt: Self.prompts[$0]) }
        let mixed = try Self.greedy(executor, shuffled)
        for (i, run) in shuffled.enumerated() {
            let solo = try Self.greedy(executor, [run])[0]
            #expect(Self.agrees(mixed[i], solo), "slot \(run.slot), adapter \(run.adapter)")
        }
    }

    @Test("An adapter attached at scale 0 gives the base model's tokens")
    func scaleZeroIsTheBase() throws {
        let context = try TestModels.context(TestModels.smol)
        let adapter = try LlamaAdapter(model: TestModels.smol, path: TestModels.lora("a"), maxRank: 16)
        let base = try context.generate(prompts: [Self.prompts[0]], maxTokens: 12)[0]
        #expect(context.poolAdapters([adapter]))
        #expect(context.attach(sequence: 0, to: adapter, scale: 1))
        let adapted = try context.generate(prompts: [Self.prompts[0]], maxTokens: 12)[0]
        #expect(context.attach(sequence: 0, to: adapter, scale: 0))
        let zero = try context.generate(prompts: [Self.prompts[0]], maxTokens: 12)[0]
        #expect(adapted != base)
        #expect(zero == base)
        #expect(!context.attach(sequence: 0, to: try LlamaAdapter(model: TestModels.smol, path: TestModels.lora("b"), maxRank: 16)),
                "an adapter that is not pooled is refused")
        #expect(!context.attach(sequence: 5, to: nil), "a sequence id out of range is refused")
    }

    @Test("A removed adapter's slot in the pool is reused cleanly")
    func removedAdapterSlotIsReused() throws {
        let executor = LlamaExecutor(context: try TestModels.context(TestModels.smol, sequences: 2))
        let a = try executor.loadAdapter(path: TestModels.lora("a"), maxRank: 16).id
        let b = try executor.loadAdapter(path: TestModels.lora("b"), maxRank: 16).id
        let bBefore = try Self.greedy(executor, [(slot: 1, adapter: b, prompt: Self.prompts[1])])[0]
        executor.unloadAdapter(a)
        #expect(throws: ExecutorError.self) { try Self.greedy(executor, [(slot: 0, adapter: a, prompt: Self.prompts[0])]) }
        // c takes the pool place a had: its tokens are its own, b's are unchanged.
        let c = try executor.loadAdapter(path: TestModels.lora("c"), maxRank: 16).id
        let together = try Self.greedy(executor, [(slot: 0, adapter: c, prompt: Self.prompts[0]),
                                                  (slot: 1, adapter: b, prompt: Self.prompts[1])])
        let fresh = LlamaExecutor(context: try TestModels.context(TestModels.smol, sequences: 2))
        let cFresh = try fresh.loadAdapter(path: TestModels.lora("c"), maxRank: 16).id
        let cAlone = try Self.greedy(fresh, [(slot: 0, adapter: cFresh, prompt: Self.prompts[0])])[0]
        #expect(Self.agrees(together[0], cAlone), "c after a's removal: \(together[0].map(\.token)) vs \(cAlone.map(\.token))")
        #expect(Self.agrees(together[1], bBefore))
        #expect(try Self.greedy(executor, [(slot: 0, adapter: 0, prompt: Self.prompts[0])])[0].map(\.token)
                    == (try Self.greedy(fresh, [(slot: 0, adapter: 0, prompt: Self.prompts[0])])[0].map(\.token)))
    }
}
