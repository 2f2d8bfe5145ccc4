import Foundation
public import CorralCore

/// A transformer's shape, layer by layer, as much as capacity planning needs: enough to
/// count parameters and KV bytes without loading weights. Heterogeneous (NAS-derived,
/// DeciLM/Nemotron) models are first-class: a layer's attention can be full with its own
/// KV-head count, a linear replacement, or absent, and its FFN width varies.
public struct ModelShape: Sendable, Equatable, Codable {
    /// One layer.
    public struct Layer: Sendable, Equatable, Codable {
        /// What replaces attention in this layer.
        public enum Attention: Sendable, Equatable, Codable {
            /// Full attention with `heads` query heads and `kvHeads` KV heads.
            case full(heads: Int, kvHeads: Int)
            /// A single hidden × hidden linear map: no KV cache.
            case linear
            /// Nothing: no parameters, no KV cache.
            case none
        }

        /// What replaces the FFN in this layer.
        public enum FFN: Sendable, Equatable, Codable {
            /// A gated (SwiGLU) FFN of this inner width: three matrices.
            case gated(width: Int)
            /// A single hidden × hidden linear map.
            case linear
            /// Nothing.
            case none
        }

        /// The layer's attention.
        public var attention: Attention
        /// The layer's FFN.
        public var ffn: FFN

        /// Creates a layer.
        public init(attention: Attention, ffn: FFN) {
            self.attention = attention
            self.ffn = ffn
        }
    }

    /// A name for tables.
    public var name: String
    /// Hidden (embedding) size.
    public var hiddenSize: Int
    /// Size of one attention head.
    public var headDim: Int
    /// Vocabulary size.
    public var vocabSize: Int
    /// Whether the output projection shares the token embedding.
    public var tiedEmbeddings: Bool
    /// The layers, in order.
    public var layers: [Layer]

    /// Creates a shape.
    public init(name: String, hiddenSize: Int, headDim: Int, vocabSize: Int, tiedEmbeddings: Bool, layers: [Layer]) {
        self.name = name
        self.hiddenSize = hiddenSize
        self.headDim = headDim
        self.vocabSize = vocabSize
        self.tiedEmbeddings = tiedEmbeddings
        self.layers = layers
    }

    /// Parameters: embeddings, output head (unless tied), norms, attention and FFN matrices.
    public var parameterCount: Int {
        let h = hiddenSize
        var total = vocabSize * h * (tiedEmbeddings ? 1 : 2) + h  // + final norm
        for layer in layers {
            switch layer.attention {
            case .full(let heads, let kv): total += h + 2 * h * heads * headDim + 2 * h * kv * headDim
            case .linear: total += h + h * h
            case .none: break
            }
            switch layer.ffn {
            case .gated(let width): total += h + 3 * h * width
            case .linear: total += h + h * h
            case .none: break
            }
        }
        return total
    }

    /// KV-cache elements per token: K and V for each layer with full attention; linear and
    /// absent attention cost nothing.
    public var kvElementsPerToken: Int {
        layers.reduce(0) { sum, layer in
            if case .full(_, let kv) = layer.attention { return sum + 2 * kv * headDim }
            return sum
        }
    }

    /// Layers by kind, for tables.
    public var summary: (full: Int, linear: Int, none: Int, ffnNone: Int) {
        var s = (full: 0, linear: 0, none: 0, ffnNone: 0)
        for layer in layers {
            switch layer.attention {
            case .full: s.full += 1
            case .linear: s.linear += 1
            case .none: s.none += 1
            }
            if case .none = layer.ffn { s.ffnNone += 1 }
        }
        return s
    }

    /// The shape of a GGUF file, from its metadata alone (no weights are read).
    public init(gguf metadata: ModelMetadata, name: String) {
        let h = metadata.embeddingLength
        let layers = (0..<metadata.layerCount).map { i -> Layer in
            let heads = i < metadata.headCount.count ? metadata.headCount[i] : 0
            let kv = i < metadata.headCountKV.count ? metadata.headCountKV[i] : 0
            let ffn = i < metadata.feedForwardLength.count ? metadata.feedForwardLength[i] : 0
            let attention: Layer.Attention = kv > 0 ? .full(heads: heads, kvHeads: kv) : (heads > 0 ? .linear : .none)
            return Layer(attention: attention, ffn: ffn > 0 ? .gated(width: ffn) : .none)
        }
        self.init(name: name, hiddenSize: h, headDim: metadata.keyLength, vocabSize: metadata.vocabSize,
                  tiedEmbeddings: false, layers: layers)
    }
}
