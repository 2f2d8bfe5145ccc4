import CorralCore
@testable import LlamaEngine
import Testing

@Suite("Pooled embedding passes on SmolLM2", .serialized)
struct EmbeddingPassTests {
    let model = TestModels.smol

    func context(sequences: Int, unified: Bool) throws -> LlamaContext {
        try LlamaContext(model: model, options: .init(contextLength: 512 * sequences, batchCapacity: 256,
                                                      maxSequences: sequences, threads: 2, unifiedKV: unified,
                                                      pooling: .mean))
    }

    @Test func groupsKeepEveryInputInsideOnePass() {
        // Partitioned: equal lengths in consecutive ids share a call; anything else starts one.
        let inputs = [(0, 10), (1, 10), (2, 10), (3, 7), (5, 7), (6, 7)].map { (sequence: $0.0, length: $0.1) }
        #expect(LlamaContext.embeddingGroups(inputs, pass: 64, unified: false) == [[0, 1, 2], [3], [4, 5]])
        #expect(LlamaContext.embeddingGroups(inputs, pass: 20, unified: false) == [[0, 1], [2], [3], [4, 5]])
        // Unified: any lengths, up to a pass of tokens.
        #expect(LlamaContext.embeddingGroups(inputs, pass: 30, unified: true) == [[0, 1, 2], [3, 4, 5]])
    }

    @Test(arguments: [false, true])
    func aBatchGivesEachInputsOwnVector(unified: Bool) throws {
        let texts = ["A cat sat on the mat.", "Rain is falling in the city tonight.", "A cat sat on the mat.", "hi"]
        let inputs = try texts.map { try model.tokenize($0, addSpecial: true, parseSpecial: false) }
        let ctx = try context(sequences: 4, unified: unified)
        let together = try ctx.embed(inputs.enumerated().map { (sequence: $0.offset, tokens: $0.element[...]) })
        let alone = try inputs.map { try context(sequences: 1, unified: unified).embed([(sequence: 0, tokens: $0[...])])[0] }
        #expect(together.count == 4 && together.allSatisfy { $0.count == ctx.embeddingWidth })
        for (a, b) in zip(together, alone) {
            #expect(zip(a, b).map { abs($0 - $1) }.max()! < 1e-4)
            let norm = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
        }
        #expect(zip(together[0], together[1]).map { abs($0 - $1) }.max()! > 1e-2, "different inputs, different vectors")
        // The pass leaves each input's KV in its sequence until it is removed.
        #expect(ctx.lastPosition(of: 1) == inputs[1].count - 1)
    }

    @Test func generationAfterAnEmbeddingPassIsUnchanged() throws {
        let prompt = try model.tokenize("The capital of France is", addSpecial: true, parseSpecial: false)
        let plain = try TestModels.context(model).generate(prompts: [prompt], maxTokens: 8)
        let ctx = try context(sequences: 1, unified: true)
        _ = try ctx.embed([(sequence: 0, tokens: prompt[...])])
        ctx.removeSequence(0)
        #expect(try ctx.generate(prompts: [prompt], maxTokens: 8) == plain)
    }

    @Test func aContextWithoutPoolingRefusesAPass() throws {
        let ctx = try TestModels.context(model)
        #expect(throws: LlamaError.self) { _ = try ctx.embed([(sequence: 0, tokens: [1, 2, 3][...])]) }
    }
}
