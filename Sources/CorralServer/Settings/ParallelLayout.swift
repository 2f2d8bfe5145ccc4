public import CorralCore

/// How the model spreads over the engine's devices, chosen once at startup from
/// `ParallelSettings`, the model's shape and the devices the engine sees (local GPUs, and
/// RPC workers' devices). The engine then gets exactly this: llama.cpp's split mode, the
/// device list in order and the shares. `/v1/metadata` shows the choice, its reason and
/// each device's part (`placement`).
///
/// llama.cpp splits one way at a time: `layer` (pipeline parallel: contiguous layers per
/// device) or `tensor` (every layer's rows over all devices, through its meta device). So
/// a layout is TP×1 or 1×PP, never both.
public struct ParallelLayout: Sendable, Equatable, Codable {
    /// llama.cpp's split mode.
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// One device holds every offloaded layer.
        case none
        /// Contiguous layers per device.
        case layer
        /// Every layer over all devices.
        case tensor
    }

    /// A device the engine can hold layers on.
    public struct Device: Sendable, Equatable, Codable {
        /// Where it is.
        public enum Kind: String, Sendable, Codable {
            /// A local GPU.
            case gpu
            /// A device of a `corral rpc-server` worker.
            case rpc
            /// The local CPU (layers that are not offloaded).
            case cpu
        }
        /// The engine's name for it (`CUDA0`, `RPC0`, `CPU`).
        public var name: String
        /// What it is (a GPU's product name, an RPC worker's endpoint).
        public var description: String
        /// Where it is.
        public var kind: Kind
        /// Free memory as the backend reports it.
        public var freeBytes: Int
        /// Total memory.
        public var totalBytes: Int

        /// Creates a device; see each property.
        public init(name: String, description: String, kind: Kind, freeBytes: Int, totalBytes: Int) {
            self.name = name
            self.description = description
            self.kind = kind
            self.freeBytes = freeBytes
            self.totalBytes = totalBytes
        }

        /// What this server may use of it: the free memory, capped by `share` of the total.
        public func usableBytes(share: Double) -> Int {
            totalBytes > 0 ? min(freeBytes, Int(Double(totalBytes) * share)) : freeBytes
        }
    }

    /// The split mode the engine gets.
    public var mode: Mode
    /// The devices the engine gets, in order; empty runs everything on the CPU.
    public var devices: [Device]
    /// `NIM_TENSOR_SPLIT`'s shares, one per device; empty splits by free memory.
    public var shares: [Double]
    /// Why this layout, in a sentence.
    public var reason: String

    /// Creates a layout; see each property.
    public init(mode: Mode, devices: [Device], shares: [Double] = [], reason: String) {
        self.mode = mode
        self.devices = devices
        self.shares = shares
        self.reason = reason
    }

    /// Everything on the CPU: the layout of an engine with nothing to offload to.
    public static let cpu = ParallelLayout(mode: .none, devices: [], reason: "no GPU or RPC device: the CPU runs the model")

    /// The profile name NIM would give it: `llamacpp-<backend>-tp<N>-pp<M>`.
    public var profile: String {
        let backend = devices.first.map { $0.kind == .rpc ? "rpc" : Self.backendWord($0.name) } ?? "cpu"
        let n = max(devices.count, 1)
        return "llamacpp-\(backend)-tp\(mode == .tensor ? n : 1)-pp\(mode == .layer ? n : 1)"
    }

    /// `CUDA0` → `cuda`, `Vulkan1` → `vulkan`: the device name without its index.
    static func backendWord(_ name: String) -> String {
        String(name.prefix { !$0.isNumber }).lowercased()
    }
}

/// What the layout decision needs to know about the model.
public struct ParallelShape: Sendable, Equatable {
    /// `general.architecture`.
    public var architecture: String
    /// Attention heads per layer.
    public var headCount: [Int]
    /// KV heads per layer.
    public var headCountKV: [Int]
    /// f16 KV bytes one token takes in each layer.
    public var kvBytesPerToken: [Int]
    /// Weight bytes of each layer's tensors (`blk.N.*`).
    public var layerBytes: [Int]
    /// Weight bytes of the output layer (its norm and projection, or the tied embedding).
    public var outputBytes: Int
    /// Every weight byte.
    public var weightBytes: Int
    /// The context the model was trained with.
    public var trainedContext: Int
    /// Embedding width and vocabulary, for the work-buffer estimate.
    public var embedding: Int
    /// Vocabulary size.
    public var vocab: Int

    /// The shape of `metadata`, with per-layer weight bytes from the file's tensor table.
    public init(metadata m: ModelMetadata, layerBytes: [Int], outputBytes: Int, weightBytes: Int) {
        architecture = m.architecture
        headCount = m.headCount
        headCountKV = m.headCountKV
        kvBytesPerToken = m.headCountKV.map { $0 * (m.keyLength + m.valueLength) * 2 }
        self.layerBytes = layerBytes.count == m.layerCount ? layerBytes : Array(repeating: weightBytes / max(m.layerCount, 1), count: m.layerCount)
        self.outputBytes = outputBytes
        self.weightBytes = weightBytes
        trainedContext = m.trainingContextLength
        embedding = m.embeddingLength
        vocab = m.vocabSize
    }

    /// Number of transformer blocks.
    public var layerCount: Int { headCount.count }
}
