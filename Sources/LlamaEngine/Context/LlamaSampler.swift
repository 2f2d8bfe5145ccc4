public import CorralCore
import CLlama
import CLlamaCommon

/// A per-sequence sampler chain, built from `SamplingParameters` with llama.cpp's own
/// tested samplers. Each sequence owns one, because penalties, the RNG and the grammar
/// carry state.
public final class LlamaSampler {
    private let chain: UnsafeMutablePointer<llama_sampler>
    /// The output constraint's grammar, kept out of the chain: it is checked against the
    /// chain's pick first, and applied to the whole vocabulary only when it rejects it.
    private let grammar: UnsafeMutablePointer<llama_sampler>?
    /// A lazy grammar waits for a trigger, and is not applied inside a thinking section.
    private let lazy: Bool
    /// llama.cpp's reasoning-budget sampler: it tracks the thinking section and forces its
    /// end once the budget is spent.
    private let budget: UnsafeMutablePointer<llama_sampler>?
    /// Greedy with nothing that reads or changes the logits first: the token is the
    /// argmax, found straight from the logits without building the chain's candidate
    /// array of the whole vocabulary (128k entries for Llama 3) for every sequence and step.
    private let plainGreedy: Bool
    private let vocabSize: Int
    /// What a grammar that can no longer continue ends the sequence with.
    private let endToken: Token
    /// The candidate array for constrained sampling, allocated once per sequence.
    private var candidates: [llama_token_data] = []

    /// Builds the chain: logit bias → penalties → top-k → top-p → min-p → temperature → draw
    /// (the order llama-server uses), or bias → penalties → argmax when greedy; and the
    /// grammar sampler when `p.grammar` is set (already checked with `checkGrammar`), and
    /// the reasoning-budget sampler when `p.thinking` is.
    public init(model: LlamaModel, parameters p: SamplingParameters) {
        var params = llama_sampler_chain_default_params()
        params.no_perf = true
        chain = llama_sampler_chain_init(params)
        grammar = p.grammar.flatMap { Self.grammarSampler(model, $0) }
        lazy = p.grammar?.lazy ?? false
        budget = p.thinking.flatMap { Self.budgetSampler(model, $0) }
        let vocabSize = Int32(model.vocabSize)
        self.vocabSize = model.vocabSize
        self.endToken = llama_vocab_eos(model.vocab)
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

    deinit {
        llama_sampler_free(chain)
        if let grammar { llama_sampler_free(grammar) }
        if let budget { llama_sampler_free(budget) }
    }

    /// The grammar sampler, lazy or not, cloned from the model's parse of it (made when the
    /// request was validated) rather than parsed again at every admission; a grammar in
    /// force from the first token has seen the turn's opening the template wrote, as
    /// llama.cpp's common sampler prefills it.
    private static func grammarSampler(_ model: LlamaModel, _ spec: GrammarSpec) -> UnsafeMutablePointer<llama_sampler>? {
        let sampler = model.grammarSampler(spec)
        if let sampler, !spec.lazy { for token in spec.prefill where allows(sampler, token) { llama_sampler_accept(sampler, token) } }
        return sampler
    }

    private static func budgetSampler(_ model: LlamaModel, _ t: ThinkingSection) -> UnsafeMutablePointer<llama_sampler>? {
        let ends = t.ends.flatMap { $0 }, lengths = t.ends.map(\.count)
        let sampler = corral_reasoning_budget_new(model.vocab, t.start, t.start.count, ends, lengths,
                                                  lengths.count, t.prefill, t.prefill.count, Int32(t.budget ?? -1))
        return sampler.map { UnsafeMutablePointer<llama_sampler>($0) }
    }

    /// Whether the grammar constrains the next token: a lazy one stays out of the thinking
    /// section (a tool-call opener mentioned while thinking is not a call).
    private var grammarApplies: Bool {
        guard grammar != nil else { return false }
        guard lazy, let budget else { return true }
        let state = corral_reasoning_budget_state(budget)
        return state == 0 || state == 4
    }

    /// Whether the budget is forcing the end of the thinking section now.
    private var forcing: Bool {
        guard let budget else { return false }
        return corral_reasoning_budget_state(budget) == 2
    }

    /// Picks a token from the logits at `batchIndex` of the context's last decode, and
    /// records it for the penalties and the grammar.
    public func sample(_ context: LlamaContext, batchIndex: Int) -> Token {
        guard let logits = llama_get_logits_ith(context.pointer, Int32(batchIndex)) else {
            return llama_sampler_sample(chain, context.pointer, Int32(batchIndex))
        }
        let row = UnsafeBufferPointer(start: logits, count: vocabSize)
        if forcing, let budget {
            // The budget is spent: its sampler leaves only the end tag's next token.
            return accepted(pick(row, constrained: budget) ?? endToken)
        }
        guard grammarApplies, let grammar else {
            if budget == nil, grammar == nil {
                return plainGreedy ? Self.argmax(row) : llama_sampler_sample(chain, context.pointer, Int32(batchIndex))
            }
            return accepted(plainGreedy ? Self.argmax(row) : pick(row, constrained: nil) ?? endToken)
        }
        // llama.cpp's common sampler does the same: most picks already fit the grammar,
        // and checking one token is far cheaper than checking the whole vocabulary.
        if let first = plainGreedy ? Self.argmax(row) : pick(row, constrained: nil), Self.allows(grammar, first) {
            return accepted(first, checked: true)
        }
        // Accepting a token the grammar forbids aborts the engine, so the resampled token
        // is checked once more, and a dead end (no token can continue the grammar) ends the
        // sequence instead.
        guard let token = pick(row, constrained: grammar), Self.allows(grammar, token) else { return endToken }
        return accepted(token, checked: true)
    }

    /// Records `token` in the chain (penalties), the budget and the grammar, and returns it.
    /// The grammar sees it only where it applies; when the thinking section closes, a lazy
    /// grammar is shown the end tag it did not see, since a trigger may begin with it (as
    /// llama.cpp's common sampler replays it). `checked` says the grammar already allowed
    /// it; otherwise it is checked here, since accepting a forbidden token aborts.
    @discardableResult
    private func accepted(_ token: Token, checked: Bool = false) -> Token {
        let applies = grammarApplies
        if let budget {
            llama_sampler_accept(budget, token)
            if let grammar, !applies, corral_reasoning_budget_state(budget) == 4 {
                var tokens: UnsafePointer<Int32>?
                let count = corral_reasoning_budget_end_match(budget, &tokens)
                for i in 0..<count where Self.allows(grammar, tokens![i]) { llama_sampler_accept(grammar, tokens![i]) }
            }
        }
        if applies, let grammar, checked || Self.allows(grammar, token) { llama_sampler_accept(grammar, token) }
        llama_sampler_accept(chain, token)
        return token
    }

    /// Runs the chain over the whole row, after `constrained` when it is given. `nil` when
    /// no candidate survives.
    private func pick(_ row: UnsafeBufferPointer<Float>, constrained: UnsafeMutablePointer<llama_sampler>?) -> Token? {
        if candidates.count != vocabSize {
            candidates = [llama_token_data](repeating: llama_token_data(id: 0, logit: 0, p: 0), count: vocabSize)
        }
        return candidates.withUnsafeMutableBufferPointer { buffer -> Token? in
            for i in 0..<vocabSize { buffer[i] = llama_token_data(id: Token(i), logit: row[i], p: 0) }
            var array = llama_token_data_array(data: buffer.baseAddress, size: vocabSize, selected: -1, sorted: false)
            if let constrained {
                llama_sampler_apply(constrained, &array)
                guard (0..<array.size).contains(where: { array.data[$0].logit != -.infinity }) else { return nil }
            }
            llama_sampler_apply(chain, &array)
            guard array.selected >= 0, array.selected < array.size else { return nil }
            return array.data[Int(array.selected)].id
        }
    }

    /// Whether `grammar` lets `token` come next.
    private static func allows(_ grammar: UnsafeMutablePointer<llama_sampler>, _ token: Token) -> Bool {
        var one = llama_token_data(id: token, logit: 1, p: 0)
        return withUnsafeMutablePointer(to: &one) { pointer in
            var array = llama_token_data_array(data: pointer, size: 1, selected: -1, sorted: false)
            llama_sampler_apply(grammar, &array)
            return array.data[0].logit != -.infinity
        }
    }

    /// Records output tokens the sequence already holds (kept across a preemption), so
    /// penalties see them and the grammar resumes where it was. Prompt tokens never go in:
    /// the grammar constrains the output only.
    public func accept(_ tokens: some Sequence<Token>) {
        for token in tokens { accepted(token) }
    }
}
