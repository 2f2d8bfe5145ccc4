/// Speculative decoding settings: where draft tokens come from, how many a sequence may
/// verify per step, and when the batch is too large for drafts to pay.
public struct SpeculationConfig: Sendable, Equatable {
    /// Where drafts come from.
    public enum Method: String, Sendable, CaseIterable {
        /// No speculation: one token per sequence per step.
        case off
        /// Prompt lookup (vLLM's `ngram`, llama.cpp's `ngram-simple`): the tokens that
        /// followed the latest earlier occurrence of the sequence's last few tokens, in its
        /// own prompt and output. Free to propose; pays where answers repeat their prompt.
        case ngram
        /// A small model with the same vocabulary guesses, greedily, on its own context
        /// (vLLM's `draft_model`, llama-server's `-md`).
        case draft
    }

    /// Where drafts come from.
    public var method: Method
    /// Most draft tokens one sequence verifies per step (vLLM's `num_speculative_tokens`,
    /// llama-server's `--draft-max`).
    public var maxDraftTokens: Int
    /// Shortest run of trailing tokens that must recur for a draft (vLLM's
    /// `prompt_lookup_min`).
    public var minMatch: Int
    /// Longest run of trailing tokens looked up first (vLLM's `prompt_lookup_max`).
    public var maxMatch: Int
    /// Decoding sequences above which a step carries no drafts (vLLM's
    /// `disable_by_batch_size`): a large batch already keeps the engine's compute busy, so
    /// verifying guesses costs more than the tokens it saves.
    public var disableByBatchSize: Int

    /// Creates settings; the defaults are measured on a CPU (see docs/benchmarks).
    public init(method: Method = .off, maxDraftTokens: Int = 8, minMatch: Int = 2, maxMatch: Int = 4,
                disableByBatchSize: Int = 2) {
        self.method = method
        self.maxDraftTokens = maxDraftTokens
        self.minMatch = minMatch
        self.maxMatch = maxMatch
        self.disableByBatchSize = disableByBatchSize
    }
}
