import Foundation
import CorralCore

/// What fits on a device: weights, KV bytes per token summed over the layers that have a
/// KV cache, the tokens a memory budget holds, and the sequences that makes at a context.
public struct CapacityPlan: Sendable, Codable, Equatable {
    /// Element types for weights and the KV cache, with their bytes per element.
    public enum DType: String, Sendable, Codable, CaseIterable {
        case f32, f16, bf16, fp8
        case q8_0, q6_k, q4_k_m, q4_0
        /// Bytes per element, block scales included (q8_0: 34 bytes per 32 elements).
        public var bytes: Double {
            switch self {
            case .f32: 4
            case .f16, .bf16: 2
            case .fp8: 1
            case .q8_0: 34.0 / 32
            case .q6_k: 210.0 / 256
            case .q4_k_m: 4.85 / 8  // Q4_K with some Q6_K tensors, llama.cpp's measured average
            case .q4_0: 18.0 / 32
            }
        }
    }

    /// The model's name.
    public var model: String
    /// Layers with full attention, a linear replacement, no attention; layers with no FFN.
    public var layers: Int, attentionLayers: Int, linearAttentionLayers: Int, noAttentionLayers: Int, noFFNLayers: Int
    /// Parameters.
    public var parameters: Int
    /// Weight bytes for each dtype (the GGUF's own size under `"gguf"` when read from one).
    public var weightBytes: [String: Int]
    /// The dtype the budget assumes for weights.
    public var weightDType: String
    /// The KV cache's element type.
    public var kvDType: String
    /// KV bytes per token.
    public var kvBytesPerToken: Int
    /// Device memory in bytes, the share usable, and the reserve for activations.
    public var memoryBytes: Int, memoryUtilization: Double, reserveBytes: Int
    /// Bytes left for the KV cache (negative: the weights do not fit).
    public var kvBudgetBytes: Int
    /// KV tokens the budget holds.
    public var kvTokens: Int
    /// The context length asked about, and how many sequences of it fit at once.
    public var contextLength: Int, maxSequences: Int
    /// Whether the weights fit at all.
    public var fits: Bool
    /// Tensor and pipeline parallel sizes: the plan spans `tensorParallel × pipelineParallel`
    /// devices of `memoryBytes` each, every one with its own reserve (work buffers).
    public var tensorParallel = 1, pipelineParallel = 1
    /// Each device's part: weights, KV bytes per token (a share of every layer's KV heads
    /// under tensor parallel, its layers' under pipeline parallel) and the heaviest
    /// device's share of the layers or heads, as a fraction (uneven splits round up).
    public var weightBytesPerDevice = 0, kvBytesPerTokenPerDevice = 0
    /// Devices in all.
    public var devices: Int { tensorParallel * pipelineParallel }

    /// Plans `shape` on a device.
    /// - Parameters:
    ///   - ggufWeightBytes: the file's tensor bytes, when planning a GGUF (used as `"gguf"`).
    ///   - weightDType: the weights' dtype for the budget; `"gguf"` uses the file's size.
    public init(shape: ModelShape, memoryBytes: Int, memoryUtilization: Double = 0.9, reserveBytes: Int = 2 << 30,
                weightDType: String, kvDType: DType, contextLength: Int, ggufWeightBytes: Int? = nil,
                parameters: Int? = nil, tensorParallel: Int = 1, pipelineParallel: Int = 1) throws(PlanError) {
        guard tensorParallel >= 1, pipelineParallel >= 1 else { throw PlanError("--tp and --pp must be 1 or more") }
        let s = shape.summary
        model = shape.name
        layers = shape.layers.count
        attentionLayers = s.full
        linearAttentionLayers = s.linear
        noAttentionLayers = s.none
        noFFNLayers = s.ffnNone
        let count = parameters ?? shape.parameterCount
        self.parameters = count
        var weights = Dictionary(uniqueKeysWithValues: [DType.f16, .fp8, .q8_0, .q4_k_m].map {
            ($0.rawValue, Int((Double(count) * $0.bytes).rounded()))
        })
        if let ggufWeightBytes { weights["gguf"] = ggufWeightBytes }
        if weights[weightDType] == nil, let d = DType(rawValue: weightDType) {
            weights[weightDType] = Int((Double(count) * d.bytes).rounded())
        }
        guard let weightTotal = weights[weightDType] else {
            throw PlanError("unknown weight dtype \(weightDType); use one of \(DType.allCases.map(\.rawValue).joined(separator: ", "))\(ggufWeightBytes != nil ? " or gguf" : "")")
        }
        weightBytes = weights
        self.weightDType = weightDType
        self.kvDType = kvDType.rawValue
        kvBytesPerToken = Int((Double(shape.kvElementsPerToken) * kvDType.bytes).rounded(.up))
        self.memoryBytes = memoryBytes
        self.memoryUtilization = memoryUtilization
        self.reserveBytes = reserveBytes
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        let devices = tensorParallel * pipelineParallel
        // The heaviest device's share: whole KV heads per device (the widest layer's) under
        // tensor parallel, whole layers per device under pipeline parallel.
        let heads = shape.layers.map { layer -> Int in
            if case .full(_, let kv) = layer.attention { return kv }
            return 0
        }.max() ?? 0
        let headShare = heads > 0 ? Double((heads + tensorParallel - 1) / tensorParallel) / Double(heads) : 1 / Double(tensorParallel)
        let layerShare = Double((shape.layers.count + pipelineParallel - 1) / max(pipelineParallel, 1)) / Double(max(shape.layers.count, 1))
        weightBytesPerDevice = Int((Double(weightTotal) * layerShare / Double(tensorParallel)).rounded(.up))
        kvBytesPerTokenPerDevice = Int((Double(kvBytesPerToken) * headShare * layerShare).rounded(.up))
        // Every device brings memoryBytes × utilization and keeps its own reserve; the KV
        // budget is what the heaviest device leaves, times the devices.
        let perDevice = KVBudget.bytes(totalBytes: memoryBytes, utilization: memoryUtilization, usedBytes: weightBytesPerDevice,
                                       reserveBytes: reserveBytes)
        kvBudgetBytes = devices == 1
            ? KVBudget.bytes(totalBytes: memoryBytes, utilization: memoryUtilization, usedBytes: weightTotal, reserveBytes: reserveBytes)
            : perDevice * devices
        fits = kvBudgetBytes > 0
        kvTokens = devices == 1 ? KVBudget.tokens(budgetBytes: kvBudgetBytes, bytesPerToken: kvBytesPerToken)
            : KVBudget.tokens(budgetBytes: perDevice, bytesPerToken: kvBytesPerTokenPerDevice)
        self.contextLength = contextLength
        maxSequences = contextLength > 0 ? kvTokens / contextLength : 0
    }

    /// Parses sizes such as `80GiB`, `141GB`, `512MiB` or a plain byte count.
    public static func parseBytes(_ text: String) throws(PlanError) -> Int {
        let units: [(String, Double)] = [("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024),
                                         ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            if let n = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), n > 0 {
                return Int(n * scale)
            }
        }
        if let n = Int(trimmed), n > 0 { return n }
        throw PlanError("cannot read the size '\(text)'; write it like 80GiB or 141GB")
    }
}
