import CLlama
public import CorralCore
import Foundation

/// A loaded GGUF model: weights, vocabulary and metadata. Immutable after loading.
///
/// Tokenization is thread-safe in llama.cpp, so a model may be shared across threads;
/// inference needs a `LlamaContext`, which is not.
public final class LlamaModel: @unchecked Sendable {
    /// Where the model came from.
    public let path: String
    /// Header metadata, including the per-layer arrays.
    public let metadata: ModelMetadata
    /// The engine's one-line description (architecture, size, quantization).
    public let description: String
    /// Parameter count.
    public let parameterCount: UInt64
    /// Bytes of weights.
    public let sizeBytes: UInt64

    let pointer: OpaquePointer
    let vocab: OpaquePointer
    let chatTemplates: ChatTemplates
    /// This vocabulary's converted and parsed grammars, kept for repeats.
    public let grammars = GrammarCache()

    /// Options for loading.
    public struct Options: Sendable {
        /// Layers to offload to a GPU; -1 means all, 0 keeps everything on the CPU.
        public var gpuLayers: Int32
        /// Memory-map the file instead of reading it.
        public var useMmap: Bool
        /// A Jinja chat template to use instead of the one in the GGUF.
        public var chatTemplate: String?
        /// Called on the loading thread as the weights load, with the share done (0 to 1).
        public var onProgress: (@Sendable (Double) -> Void)?
        /// How the model spreads over `devices` (llama.cpp's split mode).
        public var split: SplitMode = .layer
        /// The devices to offload to, by ggml name (`CUDA0`, `RPC0`), in
        /// order; empty lets the engine take every GPU and RPC device it sees.
        public var devices: [String] = []
        /// Each device's share of the layers (layer split) or rows (tensor split), in the
        /// order of `devices`; empty splits by free memory.
        public var tensorSplit: [Float] = []

        /// Creates options; by default every layer goes to the GPU when there is one.
        public init(gpuLayers: Int32 = -1, useMmap: Bool = true, chatTemplate: String? = nil,
                    onProgress: (@Sendable (Double) -> Void)? = nil) {
            self.gpuLayers = gpuLayers
            self.useMmap = useMmap
            self.chatTemplate = chatTemplate
            self.onProgress = onProgress
        }
    }

    /// llama.cpp's split modes that Corral offers (ROW is deprecated and fails on CUDA).
    public enum SplitMode: String, Sendable, CaseIterable {
        /// One device holds the whole model (`LLAMA_SPLIT_MODE_NONE`, the first device).
        case none
        /// Contiguous layers per device, each layer's KV with it: pipeline parallel.
        case layer
        /// Every layer's rows over all devices through a meta device: tensor parallel.
        case tensor

        var engineValue: llama_split_mode {
            switch self {
            case .none: LLAMA_SPLIT_MODE_NONE
            case .layer: LLAMA_SPLIT_MODE_LAYER
            case .tensor: LLAMA_SPLIT_MODE_TENSOR
            }
        }
    }

    /// Loads the GGUF at `path`.
    /// - Throws: `LlamaError` with `.fileNotFound`, `.notGGUF` or `.corruptModel`; a bad
    ///   file never crashes the process.
    public init(path: String, options: Options = Options()) throws(LlamaError) {
        let metadata = try GGUFReader.metadata(path: path)
        var params = llama_model_default_params()
        params.n_gpu_layers = options.gpuLayers
        params.load_mode = options.useMmap ? params.load_mode : LLAMA_LOAD_MODE_NONE
        params.split_mode = options.split.engineValue
        var devices: [ggml_backend_dev_t?] = []
        for name in options.devices {
            guard let dev = ggml_backend_dev_by_name(name) else {
                throw .invalidArgument("no device named \(name) (the engine sees \(EngineDevice.all().map(\.name).joined(separator: ", ")))")
            }
            devices.append(dev)
        }
        devices.append(nil)
        var split = [Float](repeating: 0, count: max(llama_max_devices(), options.tensorSplit.count))
        for (index, share) in options.tensorSplit.enumerated() { split[index] = share }
        _ = EngineLog.takeLastError()
        // The box lives until the call returns, which is as long as the engine calls back.
        let progress = options.onProgress.map { ProgressBox($0) }
        if let progress {
            params.progress_callback = { share, box in
                if let box { Unmanaged<ProgressBox>.fromOpaque(box).takeUnretainedValue().report(Double(share)) }
                return true
            }
            params.progress_callback_user_data = Unmanaged.passUnretained(progress).toOpaque()
        }
        let loaded = devices.withUnsafeMutableBufferPointer { devs in
            split.withUnsafeBufferPointer { shares in
                if devs.count > 1 { params.devices = devs.baseAddress }
                params.tensor_split = shares.baseAddress
                return llama_model_load_from_file(path, params)
            }
        }
        withExtendedLifetime(progress) {}
        guard let model = loaded else {
            throw .corruptModel(path, EngineLog.takeLastError())
        }
        do {
            self.chatTemplates = try ChatTemplates(model: model, override: options.chatTemplate)
        } catch {
            llama_model_free(model)
            throw error
        }
        self.pointer = model
        self.vocab = llama_model_get_vocab(model)
        self.path = path
        self.metadata = metadata
        var buf = [CChar](repeating: 0, count: 256)
        llama_model_desc(model, &buf, buf.count)
        self.description = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.parameterCount = llama_model_n_params(model)
        self.sizeBytes = llama_model_size(model)
    }

    deinit { llama_model_free(pointer) }

    /// The vocabulary size the engine uses for logits.
    public var vocabSize: Int { Int(llama_vocab_n_tokens(vocab)) }

    /// Whether `token` ends generation (EOS, EOT and the like).
    public func isEndOfGeneration(_ token: Token) -> Bool { llama_vocab_is_eog(vocab, token) }

    /// The pinned engine this wrapper is built for.
    public static let engineVersion = "llama.cpp 0.5.0 (ggml 0.25.3) from llama-cpp-python 0.3.36"

    /// True when a GPU backend is compiled in and can take layers.
    public static var supportsGPUOffload: Bool {
        EngineLog.install()
        return llama_supports_gpu_offload()
    }
}

/// Carries a load-progress callback through llama.cpp's `void *` user data.
private final class ProgressBox {
    let report: @Sendable (Double) -> Void
    init(_ report: @escaping @Sendable (Double) -> Void) { self.report = report }
}
