public import CorralCore

/// What the engine was sized to, and why (`/v1/metadata`'s `kv_sizing`): the KV cells, the
/// longest sequence, the running sequences and the step's tokens. `KVSizing.plan` works
/// them out from the settings and the memory the device has; each figure the operator did
/// not set carries its reason.
public struct KVSizing: Sendable, Equatable, Codable {
    /// `fixed` (`NIM_KV_CACHE_TOKENS`), `percent` (`NIM_KV_CACHE_PERCENT`),
    /// `gpu_memory_utilization` (a GPU's default) or `host_memory` (a CPU's default).
    public var mode: String
    /// KV cells for all sequences together.
    public var tokens: Int
    /// KV bytes per token (f16 K and V, layers with KV heads only).
    public var bytesPerToken: Int
    /// The share of memory given to the KV cache, when sized from memory.
    public var percent: Double?
    /// Memory the share was taken of, when sized from memory.
    public var freeBytes: Int?
    /// Where that figure came from: `gpu`, `cgroup` or `system`.
    public var memorySource: String?
    /// `gpu` or `cpu`: which defaults applied.
    public var device: String
    /// The longest sequence, prompt plus output.
    public var maxModelLen: Int
    /// Sequences running at once.
    public var maxNumSeqs: Int
    /// Tokens per step.
    public var maxBatchTokens: Int
    /// Why each size the operator did not set is what it is, by the size's name.
    public var reasons: [String: String]
    /// The devices the model runs on, as the engine names them (`CUDA0: NVIDIA H200`).
    public var devices: [String] = []
    /// Layers offloaded to a GPU.
    public var offloadedLayers = 0

    /// Creates a value; see each property.
    public init(mode: String, tokens: Int, bytesPerToken: Int, percent: Double? = nil, freeBytes: Int? = nil,
                memorySource: String? = nil, device: String = "cpu", maxModelLen: Int = 0, maxNumSeqs: Int = 1,
                maxBatchTokens: Int = ServeDefaults.maxBatchTokensCPU, reasons: [String: String] = [:]) {
        self.mode = mode
        self.tokens = tokens
        self.bytesPerToken = bytesPerToken
        self.percent = percent
        self.freeBytes = freeBytes
        self.memorySource = memorySource
        self.device = device
        self.maxModelLen = maxModelLen
        self.maxNumSeqs = maxNumSeqs
        self.maxBatchTokens = maxBatchTokens
        self.reasons = reasons
    }

    enum CodingKeys: String, CodingKey {
        case mode, tokens, percent, device, reasons, devices
        case offloadedLayers = "offloaded_layers"
        case bytesPerToken = "bytes_per_token"
        case freeBytes = "free_bytes"
        case memorySource = "memory_source"
        case maxModelLen = "max_model_len"
        case maxNumSeqs = "max_num_seqs"
        case maxBatchTokens = "max_batch_tokens"
    }

    /// A fixed size, for engines built without a plan (tests, the simulated executor).
    public static func fixed(_ tokens: Int, model: any ServedModel) -> KVSizing {
        KVSizing(mode: "fixed", tokens: tokens, bytesPerToken: model.metadata.kvElementsPerToken * 2, maxModelLen: tokens)
    }
}
