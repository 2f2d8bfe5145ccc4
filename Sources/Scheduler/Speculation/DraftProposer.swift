import CorralCore

/// A source of draft tokens for speculative decoding: a guess at what follows a sequence,
/// which the engine then verifies. A wrong guess costs verification time only, never a
/// different output.
protocol DraftProposer {
    /// Up to `limit` tokens guessed to follow `history` (the sequence's prompt and output
    /// so far); empty for no guess.
    func propose(_ history: [Token], limit: Int) -> ArraySlice<Token>
}

extension SpeculationConfig {
    /// The proposer the method names; nil when speculation is off.
    var proposer: (any DraftProposer)? {
        switch method {
        case .off: nil
        case .ngram: NgramProposer(minMatch: minMatch, maxMatch: maxMatch)
        }
    }
}
