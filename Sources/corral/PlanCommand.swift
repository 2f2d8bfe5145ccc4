import ArgumentParser
import CorralBench
import Foundation
import CorralCore
import LlamaEngine

/// `corral plan`: what a model needs and what fits, from metadata alone.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan capacity: parameters, weight bytes, KV bytes per token (per layer), KV tokens and sequences that fit.",
        discussion: """
            MODEL is a GGUF file (metadata only; weights are not read), a Hugging Face config.json \
            (or its folder; DeciLM/Nemotron block_configs included), or a built-in reference: \
            \(ModelShape.references.keys.sorted().joined(separator: ", ")). With --compare and no \
            MODEL, compares Llama-3.1-70B with Nemotron-Super-49B on one GPU; `--compare --gpus 2 \
            --tp 2,1` is the seed's setup: 70B at TP2 against Super-49B at TP1 on 80 GiB GPUs.
            """)

    @Argument(help: "GGUF file, config.json, or reference name.")
    var models: [String] = []
    @Option(help: "Device memory, e.g. 80GiB.")
    var gpuMemory = "80GiB"
    @Option(help: "Share of the memory Corral may use.")
    var utilization = 0.9
    @Option(help: "Memory kept for activations and the runtime, e.g. 2GiB.")
    var reserve = "2GiB"
    @Option(help: "Weight dtype for the budget: f16, bf16, fp8, q8_0, q6_k, q4_k_m, q4_0, or gguf (the file's own size). Default: gguf for GGUF files, fp8 otherwise.")
    var weightDtype: String?
    @Option(help: "KV cache dtype: f16, q8_0 or fp8.")
    var kvDtype = "f16"
    @Option(help: "Context length per sequence, for the concurrency figure.")
    var context = 8192
    @Option(help: "GPUs available; the layouts asked for (--tp × --pp) must fit in them.")
    var gpus = 1
    @Option(help: "Tensor parallel size, or one per model, comma-separated (2,1).")
    var tp = "1"
    @Option(help: "Pipeline parallel size, or one per model, comma-separated.")
    var pp = "1"
    @Flag(help: "Print the models side by side with the ratio of concurrent sequences.")
    var compare = false
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let names = models.isEmpty && compare ? ["llama-3.1-70b", "nemotron-super-49b"] : models
        guard !names.isEmpty else { throw ValidationError("name a model, or use --compare") }
        guard let kv = CapacityPlan.DType(rawValue: kvDtype), [.f16, .q8_0, .fp8].contains(kv) else {
            throw ValidationError("--kv-dtype must be f16, q8_0 or fp8")
        }
        guard utilization > 0, utilization <= 1 else { throw ValidationError("--utilization must be in (0, 1]") }
        guard context > 0 else { throw ValidationError("--context must be positive") }
        do {
            let memory = try CapacityPlan.parseBytes(gpuMemory)
            let reserveBytes = try CapacityPlan.parseBytes(reserve)
            let tps = try Self.sizes(tp, count: names.count, flag: "--tp")
            let pps = try Self.sizes(pp, count: names.count, flag: "--pp")
            let plans = try names.enumerated().map { index, name throws(PlanError) in
                let (shape, totals) = try Self.load(name)
                guard tps[index] * pps[index] <= gpus else {
                    throw PlanError("\(name) at tp\(tps[index]) × pp\(pps[index]) needs \(tps[index] * pps[index]) GPUs; --gpus is \(gpus)")
                }
                return try CapacityPlan(shape: shape, memoryBytes: memory, memoryUtilization: utilization,
                                        reserveBytes: reserveBytes, weightDType: weightDtype ?? (totals == nil ? "fp8" : "gguf"),
                                        kvDType: kv, contextLength: context, ggufWeightBytes: totals?.bytes,
                                        parameters: totals?.parameters, tensorParallel: tps[index], pipelineParallel: pps[index])
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(plans), as: UTF8.self))
            } else {
                print(PlanTable.render(plans), terminator: "")
            }
        } catch let error as PlanError {
            throw ValidationError(error.description)
        }
    }

    /// `--tp`/`--pp`: one size for every model, or one per model.
    static func sizes(_ text: String, count: Int, flag: String) throws(PlanError) -> [Int] {
        let values = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == text.split(separator: ",").count, values.allSatisfy({ $0 >= 1 }),
              values.count == 1 || values.count == count else {
            throw PlanError("\(flag) \(text) must be one size of 1 or more, or one per model (\(count))")
        }
        return values.count == 1 ? Array(repeating: values[0], count: count) : values
    }

    /// A shape from a reference name, a config.json (or its folder), or a GGUF file.
    static func load(_ name: String) throws(PlanError) -> (ModelShape, GGUFReader.TensorTotals?) {
        if let reference = ModelShape.references[name.lowercased()] { return (reference, nil) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: name, isDirectory: &isDirectory) else {
            throw PlanError("\(name) is neither a file nor a reference (\(ModelShape.references.keys.sorted().joined(separator: ", ")))")
        }
        let path = isDirectory.boolValue ? name + "/config.json" : name
        let label = ((isDirectory.boolValue ? name : (name as NSString).deletingLastPathComponent) as NSString).lastPathComponent
        if path.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: path) else { throw PlanError("cannot read \(path)") }
            return (try ModelShape(huggingFaceConfig: data, name: label.isEmpty ? "config.json" : label), nil)
        }
        do {
            let metadata = try GGUFReader.metadata(path: path)
            let totals = try GGUFReader.tensorTotals(path: path)
            var shape = ModelShape(gguf: metadata, name: metadata.name ?? ServedName.forPath(path))
            shape.tiedEmbeddings = !totals.hasOutputTensor
            return (shape, totals)
        } catch {
            throw PlanError("\(path): \(error.message)")
        }
    }
}
