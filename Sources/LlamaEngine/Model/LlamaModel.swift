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

        /// Creates options; by default every layer goes to the GPU when there is one.
        public init(gpuLayers: Int32 = -1, useMmap: Bool = true, chatTemplate: String? = nil,
                    onProgress: (@Sendable (Double) -> Void)? = nil) {
            self.gpuLayers = gpuLayers
            self.useMmap = useMmap
            self.chatTemplate = chatTemplate
            self.onProgress = onProgress
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
        let loaded = llama_model_load_from_file(path, params)
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
