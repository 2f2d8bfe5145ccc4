import CLlama

/// A per-sequence sampler chain, built from `SamplingParameters` with llama.cpp's own
/// tested samplers. Each sequence owns one, because penalties and the RNG carry state.
public final class LlamaSampler {
    private let chain: UnsafeMutablePointer<llama_sampler>
    /// Greedy with nothing that reads or changes the logits first: the token is the
    /// argmax, found straight from the logits without building the chain's candidate
    /// array of the whole vocabulary (128k entries for Llama 3) for every sequence and step.
    private let plainGreedy: Bool
    private let vocabSize: Int

    /// Builds the chain: logit bias → penalties → top-k → top-p → min-p → temperature → draw
    /// (the order llama-server uses), or bias → penalties → argmax when greedy.
    public init(model: LlamaModel, parameters p: SamplingParameters) {
        var params = llama_sampler_chain_default_params()
        params.no_perf = true
        chain = llama_sampler_chain_init(params)
        let vocabSize = Int32(model.vocabSize)
        self.vocabSize = model.vocabSize
        self.plainGreedy = p.isGreedy && p.logitBias.isEmpty && !p.hasPenalties
        if !p.logitBias.isEmpty {
            let biases = p.logitBias.map { llama_logit_bias(token: $0.key, bias: $0.value) }
            llama_sampler_chain_add(chain, llama_sampler_init_logit_bias(vocabSize, Int32(biases.count), biases))
        }
        if p.hasPenalties {
            llama_sampler_chain_add(chain, llama_sampler_init_penalties(
                vocabSize, Int32(p.penaltyWindow), p.repetitionPenalty, p.frequencyPenalty, p.presencePenalty))
        }
        if p.isGreedy {
            llama_sampler_chain_add(chain, llama_sampler_init_greedy())
            return
        }
        if p.topK > 0 { llama_sampler_chain_add(chain, llama_sampler_init_top_k(Int32(p.topK))) }
        if p.topP < 1 { llama_sampler_chain_add(chain, llama_sampler_init_top_p(p.topP, 1)) }
        if p.minP > 0 { llama_sampler_chain_add(chain, llama_sampler_init_min_p(p.minP, 1)) }
        llama_sampler_chain_add(chain, llama_sampler_init_temp(p.temperature))
        llama_sampler_chain_add(chain, llama_sampler_init_dist(p.seed ?? UInt32.random(in: 0..<UInt32.max)))
    }

    deinit { llama_sampler_free(chain) }

    /// Picks a token from the logits at `batchIndex` of the context's last decode, and
    /// records it for the penalties.
    public func sample(_ context: LlamaContext, batchIndex: Int) -> Token {
        if plainGreedy, let logits = llama_get_logits_ith(context.pointer, Int32(batchIndex)) {
            return Self.argmax(UnsafeBufferPointer(start: logits, count: vocabSize))
        }
        return llama_sampler_sample(chain, context.pointer, Int32(batchIndex))
    }

    /// The first index of the largest value, as llama.cpp's greedy sampler picks it.
    static func argmax(_ values: UnsafeBufferPointer<Float>) -> Token {
        var best = 0
        var bestValue = -Float.infinity
        for i in values.indices where values[i] > bestValue {
            best = i
            bestValue = values[i]
        }
        return Token(best)
    }

    /// Records tokens the sequence already holds (a prompt, or output kept across a
    /// preemption) so penalties see them.
    public func accept(_ tokens: some Sequence<Token>) {
        for token in tokens { llama_sampler_accept(chain, token) }
    }
}
