/// How one vector is made from a sequence's per-token hidden states (llama.cpp's
/// `llama_pooling_type`, and llama-server's `--pooling`).
public enum EmbeddingPooling: String, Sendable, Codable, CaseIterable {
    /// No pooling: one vector per token, which OpenAI's `/v1/embeddings` cannot carry.
    case none
    /// The mean over the sequence's tokens.
    case mean
    /// The first token's state (BERT's `[CLS]`).
    case cls
    /// The last token's state (decoder-only embedding models).
    case last

    /// GGUF's `<arch>.pooling_type` value for this pooling (`llama_pooling_type`).
    public var ggufValue: Int {
        switch self {
        case .none: 0
        case .mean: 1
        case .cls: 2
        case .last: 3
        }
    }

    /// The pooling a GGUF's `<arch>.pooling_type` names; `nil` for unspecified or one
    /// Corral does not serve (rank, a reranker's head).
    public init?(ggufValue: Int) {
        guard let pooling = Self.allCases.first(where: { $0.ggufValue == ggufValue }) else { return nil }
        self = pooling
    }
}

/// Divides `vector` by its Euclidean norm, as llama-server does before returning it; a
/// zero vector stays zero.
public func l2Normalized(_ vector: [Float]) -> [Float] {
    let norm = vector.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
    guard norm > 0 else { return vector }
    return vector.map { Float(Double($0) / norm) }
}
