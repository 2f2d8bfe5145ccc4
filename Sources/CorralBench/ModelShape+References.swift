extension ModelShape {
    /// Llama-3.1-70B: 80 layers of full attention with 8 KV heads (head dim 128), hidden
    /// 8192, FFN 28672, 128256 tokens, untied output.
    public static let llama31_70B = ModelShape(
        name: "Llama-3.1-70B", hiddenSize: 8192, headDim: 128, vocabSize: 128_256, tiedEmbeddings: false,
        layers: Array(repeating: Layer(attention: .full(heads: 64, kvHeads: 8), ffn: .gated(width: 28672)), count: 80))

    /// Layers of Llama-3.3-Nemotron-Super-49B whose attention is a no-op; the other 49 keep
    /// full attention with 8 KV heads.
    public static let super49BNoAttention: Set<Int> = Set([6, 7, 11]).union(42...51).union(53...70)

    /// FFN multipliers of Super-49B, counted: 5.25 × 49, 2.625 × 6, 1.3125 × 10, 1.0 × 8,
    /// 0.5 × 6, 3.28125 × 1. Their order over the layers does not change any total here.
    public static let super49BFFNMultipliers: [Double] =
        Array(repeating: 5.25, count: 49) + Array(repeating: 2.625, count: 6) + Array(repeating: 1.3125, count: 10)
        + Array(repeating: 1.0, count: 8) + Array(repeating: 0.5, count: 6) + [3.28125]

    /// Llama-3.3-Nemotron-Super-49B: the NAS-derived sibling of 70B, 80 layers of which 31
    /// have no attention and so no KV cache.
    public static let nemotronSuper49B = ModelShape(
        name: "Llama-3.3-Nemotron-Super-49B", hiddenSize: 8192, headDim: 128, vocabSize: 128_256, tiedEmbeddings: false,
        layers: (0..<80).map { i in
            Layer(attention: super49BNoAttention.contains(i) ? .none : .full(heads: 64, kvHeads: 8),
                  ffn: .gated(width: ffnWidth(multiplier: super49BFFNMultipliers[i], hidden: 8192)))
        })

    /// The built-in reference architectures by short name.
    public static let references: [String: ModelShape] = ["llama-3.1-70b": llama31_70B, "nemotron-super-49b": nemotronSuper49B]
}
