/// Whether a sampled token ends its sequence, decided from values alone: no sequence, no
/// stream and no matcher state, so the rules read (and test) apart from `commit`, which
/// applies the decision. Stop strings are the one rule that needs state (text held back
/// across tokens); `StopMatcher` keeps it, and `commit` consults it after this check.
enum StopCheck {
    /// What a newly sampled token does, before its text meets the stop strings.
    enum Decision: Equatable, Sendable {
        /// Generation goes on, unless the token's text completes a stop string.
        case proceed
        /// An end-of-generation token the request honours: finish with `stop`; the token
        /// spells no text.
        case endOfGeneration
        /// `max_tokens` or the context end is reached: finish with `length`, unless the
        /// token's text (or the bytes still held back) completes a stop string.
        case limit
    }

    /// Decides for a token just appended to a sequence.
    /// - Parameters:
    ///   - isEndOfGeneration: whether the model's vocabulary marks the token as an EOG.
    ///   - generated: tokens generated so far, this one included.
    ///   - length: the sequence's tokens (prompt and generated), this one included.
    ///   - request: its `ignoreEOS`, `minTokens` and `maxTokens` apply.
    ///   - maxModelLength: the longest sequence the scheduler allows.
    static func decide(isEndOfGeneration: Bool, generated: Int, length: Int,
                       request: GenerationRequest, maxModelLength: Int) -> Decision {
        // EOG comes first: an EOG token that is honoured ends with `stop` even at the limit.
        if isEndOfGeneration && !request.ignoreEOS && generated >= request.minTokens { return .endOfGeneration }
        if generated >= request.maxTokens || length >= maxModelLength { return .limit }
        return .proceed
    }
}
