import CorralBench
import Foundation
import CorralCore
import LlamaEngine
import Testing

/// The capacity planner: reference architectures, DeciLM configs, bad input, and the tiny
/// deci GGUF checked against the KV the engine actually stores.
@Suite("Capacity planner")
struct CapacityPlanTests {
    @Test("reference architectures: 320 KiB per token for 70B, 196 KiB for Super-49B (fp16)")
    func references() throws {
        #expect(ModelShape.llama31_70B.kvElementsPerToken * 2 == 320 * 1024)
        #expect(ModelShape.nemotronSuper49B.kvElementsPerToken * 2 == 196 * 1024)
        #expect(ModelShape.nemotronSuper49B.summary.full == 49 && ModelShape.nemotronSuper49B.summary.none == 31)
        // Published sizes: 70.6 B and 49.9 B parameters.
        #expect(abs(Double(ModelShape.llama31_70B.parameterCount) / 70.55e9 - 1) < 0.005)
        #expect(abs(Double(ModelShape.nemotronSuper49B.parameterCount) / 49.87e9 - 1) < 0.005)
        let plan = try CapacityPlan(shape: .nemotronSuper49B, memoryBytes: 80 << 30, weightDType: "fp8", kvDType: .f16,
                                    contextLength: 8192)
        #expect(plan.kvBytesPerToken == 200_704)
        #expect(plan.kvTokens == plan.kvBudgetBytes / 200_704 && plan.maxSequences == plan.kvTokens / 8192)
        let q8 = try CapacityPlan(shape: .llama31_70B, memoryBytes: 80 << 30, weightDType: "fp8", kvDType: .q8_0,
                                  contextLength: 8192)
        #expect(q8.kvBytesPerToken == 80 * 2 * 8 * 128 * 34 / 32)
        let f16 = try CapacityPlan(shape: .llama31_70B, memoryBytes: 80 << 30, weightDType: "f16", kvDType: .f16,
                                   contextLength: 8192)
        #expect(!f16.fits && f16.kvTokens == 0 && f16.maxSequences == 0)
    }

    @Test("the seed's setups: 70B at TP2 holds twice the KV heads' budget of two devices; PP splits by layers")
    func parallel() throws {
        let one = try CapacityPlan(shape: .llama31_70B, memoryBytes: 80 << 30, weightDType: "fp8", kvDType: .f16,
                                   contextLength: 8192)
        let tp2 = try CapacityPlan(shape: .llama31_70B, memoryBytes: 80 << 30, weightDType: "fp8", kvDType: .f16,
                                   contextLength: 8192, tensorParallel: 2)
        #expect(tp2.devices == 2 && tp2.kvBytesPerTokenPerDevice == 160 * 1024)
        #expect(abs(tp2.weightBytesPerDevice - tp2.weightBytes["fp8"]! / 2) <= 1)
        // Each device keeps its reserve: 2 x (72 GiB - half the weights - 2 GiB).
        let usable = Int(Double(80 << 30) * 0.9)
        #expect(tp2.kvBudgetBytes == 2 * (usable - tp2.weightBytesPerDevice - (2 << 30)))
        #expect(tp2.maxSequences > 2 * one.maxSequences)
        // 8 KV heads over 3 devices: the heaviest holds 3 of them.
        let tp3 = try CapacityPlan(shape: .llama31_70B, memoryBytes: 80 << 30, weightDType: "fp8", kvDType: .f16,
                                   contextLength: 8192, tensorParallel: 3)
        #expect(tp3.kvBytesPerTokenPerDevice == 320 * 1024 * 3 / 8)
        let pp2 = try CapacityPlan(shape: .llama31_70B, memoryBytes: 80 << 30, weightDType: "fp8", kvDType: .f16,
                                   contextLength: 8192, pipelineParallel: 2)
        #expect(pp2.kvBytesPerTokenPerDevice == 160 * 1024 && pp2.kvTokens == tp2.kvTokens)
        #expect(throws: PlanError.self) {
            try CapacityPlan(shape: .llama31_70B, memoryBytes: 80 << 30, weightDType: "fp8", kvDType: .f16,
                             contextLength: 8192, tensorParallel: 0)
        }
    }

    @Test("DeciLM block_configs: no-op and linear attention cost no KV; FFN widths follow find_multiple")
    func deciConfig() throws {
        let blocks = """
            [{"attention": {"n_heads_in_group": 8, "no_op": false, "replace_with_linear": false},
              "ffn": {"ffn_mult": 5.25, "no_op": false, "replace_with_linear": false}},
             {"attention": {"n_heads_in_group": null, "no_op": true, "replace_with_linear": false},
              "ffn": {"ffn_mult": 1.3125, "no_op": false, "replace_with_linear": false}},
             {"attention": {"n_heads_in_group": null, "no_op": false, "replace_with_linear": true},
              "ffn": {"ffn_mult": null, "no_op": true, "replace_with_linear": false}},
             {"attention": {"n_heads_in_group": 16, "no_op": false, "replace_with_linear": false},
              "ffn": {"ffn_mult": 1.0, "no_op": false, "replace_with_linear": true}}]
            """
        let json = """
            {"architectures": ["DeciLMForCausalLM"], "hidden_size": 8192, "num_attention_heads": 64,
             "num_hidden_layers": 4, "vocab_size": 128256, "block_configs": \(blocks)}
            """
        let shape = try ModelShape(huggingFaceConfig: Data(json.utf8), name: "deci")
        #expect(shape.layers[0] == .init(attention: .full(heads: 64, kvHeads: 8), ffn: .gated(width: 28672)))
        #expect(shape.layers[1] == .init(attention: .none, ffn: .gated(width: 7168)))
        #expect(shape.layers[2] == .init(attention: .linear, ffn: .none))
        #expect(shape.layers[3] == .init(attention: .full(heads: 64, kvHeads: 4), ffn: .linear))
        #expect(shape.kvElementsPerToken == 2 * 8 * 128 + 2 * 4 * 128)
        #expect(ModelShape.ffnWidth(multiplier: 1.0, hidden: 8192) == 5632)
    }

    @Test("malformed configs are refused with the field named", arguments: [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (#"{"num_attention_heads": 8, "num_hidden_layers": 2, "vocab_size": 10, "intermediate_size": 4}"#, "hidden_size is missing"),
        (#"{"hidden_size": "big", "num_attention_heads": 8, "num_hidden_layers": 2, "vocab_size": 10}"#, "hidden_size must be an integer"),
        (#"{"hidden_size": 0, "num_attention_heads": 8, "num_hidden_layers": 2, "vocab_size": 10}"#, "hidden_size must be a positive integer"),
        (#"{"hidden_size": 64, "num_attention_heads": 8, "num_hidden_layers": 2, "vocab_size": 10, "block_configs": [{"attention": {"n_heads_in_group": 2}, "ffn": {"ffn_mult": 1}}]}"#,
         "block_configs has 1 entries, num_hidden_layers is 2"),
        (#"{"hidden_size": 64, "num_attention_heads": 8, "num_hidden_layers": 1, "vocab_size": 10, "block_configs": [{"attention": {"n_heads_in_group": 3}, "ffn": {"ffn_mult": 1}}]}"#,
         "n_heads_in_group 3 does not divide 8 heads"),
        (#"{"hidden_size": 64, "num_attention_heads": 8, "num_hidden_layers": 1, "vocab_size": 10, "block_configs": [{"attention": {"no_op": "yes"}, "ffn": {"ffn_mult": 1}}]}"#,
         "block_configs[0].attention.no_op must be true or false"),
        (#"{"hidden_size": 64, "num_attention_heads": 8, "num_hidden_layers": 1, "vocab_size": 10, "block_configs": [{"attention": {"n_heads_in_group": 2}, "ffn": {"ffn_mult": -1}}]}"#,
         "ffn.ffn_mult must be a positive number"),
    ])
    func malformed(json: String, message: String) {
        #expect {
            _ = try ModelShape(huggingFaceConfig: Data(json.utf8), name: "bad")
        } throws: { error in
            (error as? PlanError)?.description.contains(message) == true
        }
    }

    @Test("SmolLM2 GGUF: the same check on an ordinary, uniform model")
    func smolAgainstTheEngine() throws {
        let path = ProcessInfo.processInfo.environment["CORRAL_TEST_MODEL"]
            ?? NSHomeDirectory() + "/.cache/corral/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        let shape = ModelShape(gguf: try GGUFReader.metadata(path: path), name: "smol")
        let planned = shape.kvElementsPerToken * 2
        #expect(planned == 30 * 2 * 3 * 64 * 2)
        let model = try LlamaModel(path: path, options: .init(gpuLayers: 0))
        let context = try LlamaContext(model: model, options: .init(contextLength: 256, batchCapacity: 64, maxSequences: 1,
                                                                    threads: 2))
        context.clearBatch()
        for p in 0..<8 { _ = try context.add(token: 100 + Int32(p), position: p, sequence: 0, wantsLogits: p == 7) }
        try context.decode()
        let at8 = context.stateSize(of: 0)
        context.clearBatch()
        for p in 8..<24 { _ = try context.add(token: 100 + Int32(p), position: p, sequence: 0, wantsLogits: p == 23) }
        try context.decode()
        #expect((context.stateSize(of: 0) - at8) / 16 == planned + 12)
        let totals = try GGUFReader.tensorTotals(path: path)
        // SmolLM2 ties its output to the embedding: no output tensor.
        #expect(!totals.hasOutputTensor)
    }

    @Test("sizes parse in binary and decimal units")
    func sizes() throws {
        #expect(try CapacityPlan.parseBytes("80GiB") == 80 << 30)
        #expect(try CapacityPlan.parseBytes("141GB") == 141_000_000_000)
        #expect(try CapacityPlan.parseBytes("512 MiB") == 512 << 20)
        #expect(throws: PlanError.self) { try CapacityPlan.parseBytes("lots") }
    }

    @Test("tiny deci GGUF: planned KV bytes per token equal what the engine stores per token")
    func tinyDeciAgainstTheEngine() throws {
        let path = ProcessInfo.processInfo.environment["CORRAL_TEST_DECI_MODEL"]
            ?? NSHomeDirectory() + "/.cache/corral/models/tiny-deci.gguf"
        let shape = ModelShape(gguf: try GGUFReader.metadata(path: path), name: "tiny-deci")
        let planned = try CapacityPlan(shape: shape, memoryBytes: 1 << 30, reserveBytes: 0, weightDType: "f16",
                                       kvDType: .f16, contextLength: 256).kvBytesPerToken
        #expect(shape.summary.full == 3 && shape.summary.linear == 1 && shape.summary.none == 2)
        let model = try LlamaModel(path: path, options: .init(gpuLayers: 0))
        let context = try LlamaContext(model: model, options: .init(contextLength: 256, batchCapacity: 64, maxSequences: 1,
                                                                    threads: 2, flashAttention: true))
        func feed(_ range: Range<Int>) throws {
            context.clearBatch()
            for p in range { _ = try context.add(token: 100 + Int32(p), position: p, sequence: 0, wantsLogits: p == range.last) }
            try context.decode()
        }
        try feed(0..<8)
        let at8 = context.stateSize(of: 0)
        try feed(8..<40)
        let at40 = context.stateSize(of: 0)
        // Each stored cell also carries 12 bytes of header in the state (its position, its
        // count of sequence ids, and the id, 4 bytes each); the rest is K and V.
        #expect((at40 - at8) / 32 == planned + 12)
        #expect(planned == 896)  // (2·2 + 2·1 + 2·4 KV heads) × 32 dims × 2 bytes
        // The GGUF's own tensor table: the planner's count matches the file's.
        let totals = try GGUFReader.tensorTotals(path: path)
        #expect(totals.hasOutputTensor && totals.parameters == shape.parameterCount)
    }
}
