/// What a GGUF file says about its model, read from the header alone.
///
/// The per-layer arrays are always expanded to one entry per layer: a GGUF may store
/// `head_count` as a scalar (uniform models) or as an array (NAS-derived models such as
/// `deci`), and callers should not have to care which.
public struct ModelMetadata: Sendable, Equatable, Codable {
    /// `general.architecture`, for example `llama` or `deci`.
    public var architecture: String
    /// `general.name`, when present.
    public var name: String?
    /// The context length the model was trained with.
    public var trainingContextLength: Int
    /// Embedding width.
    public var embeddingLength: Int
    /// Number of transformer blocks.
    public var layerCount: Int
    /// Vocabulary size (from the tokenizer's token list).
    public var vocabSize: Int
    /// Attention (query) heads per layer; 0 for an attention-free layer.
    public var headCount: [Int]
    /// KV heads per layer; 0 where the layer keeps no KV cache.
    public var headCountKV: [Int]
    /// Feed-forward width per layer; 0 for an FFN-free layer.
    public var feedForwardLength: [Int]
    /// Per-head key width, when the file states it (else embedding / heads of the widest layer).
    public var keyLength: Int
    /// Per-head value width.
    public var valueLength: Int
    /// The chat template stored in the file, if any.
    public var chatTemplate: String?
    /// `<arch>.pooling_type`: set (other than none) in an embedding model's file, which
    /// then serves `/v1/embeddings` and not generation.
    public var pooling: EmbeddingPooling?

    /// Creates a value; see each property.
    public init(architecture: String, name: String?, trainingContextLength: Int, embeddingLength: Int, layerCount: Int,
                vocabSize: Int, headCount: [Int], headCountKV: [Int], feedForwardLength: [Int], keyLength: Int,
                valueLength: Int, chatTemplate: String?) {
        self.architecture = architecture
        self.name = name
        self.trainingContextLength = trainingContextLength
        self.embeddingLength = embeddingLength
        self.layerCount = layerCount
        self.vocabSize = vocabSize
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.feedForwardLength = feedForwardLength
        self.keyLength = keyLength
        self.valueLength = valueLength
        self.chatTemplate = chatTemplate
    }

    /// Whether the file is an embedding model: it names a pooling other than none.
    public var isEmbeddingModel: Bool { pooling.map { $0 != .none } ?? false }

    /// The number of layers that keep KV (full attention).
    public var kvLayerCount: Int { headCountKV.filter { $0 > 0 }.count }

    /// KV-cache elements stored per token, summed over layers: K and V for every KV head.
    /// Multiply by the element size of the cache type for bytes.
    public var kvElementsPerToken: Int {
        headCountKV.reduce(0) { $0 + $1 * (keyLength + valueLength) }
    }

    /// A short per-layer summary: how many layers of each kind the model has.
    public var layerKinds: LayerKinds {
        var kinds = LayerKinds()
        for i in 0..<layerCount {
            let heads = headCount[i], kv = headCountKV[i]
            if heads > 0 && kv > 0 { kinds.attention += 1 }
            else if heads > 0 { kinds.linearAttention += 1 }
            else { kinds.noAttention += 1 }
            if feedForwardLength[i] == 0 { kinds.noFFN += 1 }
        }
        return kinds
    }

    /// Counts of layers by kind.
    public struct LayerKinds: Sendable, Equatable, Codable {
        /// Layers with ordinary (KV-cached) attention.
        public var attention = 0
        /// Layers whose attention is replaced by a linear map (no KV).
        public var linearAttention = 0
        /// Layers with no attention at all.
        public var noAttention = 0
        /// Layers with no feed-forward block.
        public var noFFN = 0

        enum CodingKeys: String, CodingKey {
            case attention, linearAttention = "linear_attention", noAttention = "no_attention", noFFN = "no_ffn"
        }
    }
}
