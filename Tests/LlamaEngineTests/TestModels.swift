import Foundation
import CorralCore
import LlamaEngine

/// Paths to the real models the tests run against. `make test` fetches and generates
/// them and passes their paths; the fallbacks are the same cache locations.
enum TestModels {
    static let cache = ProcessInfo.processInfo.environment["CORRAL_CACHE"]
        ?? NSHomeDirectory() + "/.cache/corral"
    static let smolPath = ProcessInfo.processInfo.environment["CORRAL_TEST_MODEL"]
        ?? cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let deciPath = ProcessInfo.processInfo.environment["CORRAL_TEST_DECI_MODEL"]
        ?? cache + "/models/tiny-deci.gguf"

    /// Random LoRA adapters for SmolLM2 (`make lora-adapters`): a–d, wrong-arch, rank64.
    static let loraDir = ProcessInfo.processInfo.environment["CORRAL_TEST_LORA_DIR"]
        ?? cache + "/models/smollm2-test-loras"
    static func lora(_ name: String) -> String { loraDir + "/\(name).gguf" }

    /// Loaded once per test process: loading is the slow part.
    static let smol: LlamaModel = try! LlamaModel(path: smolPath, options: .init(gpuLayers: 0))
    static let deci: LlamaModel = try! LlamaModel(path: deciPath, options: .init(gpuLayers: 0))

    /// A small context for one test.
    static func context(_ model: LlamaModel, sequences: Int = 1, length: Int = 1024) throws -> LlamaContext {
        try LlamaContext(model: model, options: .init(contextLength: length, batchCapacity: 256,
                                                      maxSequences: sequences, threads: 2,
                                                      flashAttention: model.metadata.architecture == "deci" ? true : nil))
    }
}
