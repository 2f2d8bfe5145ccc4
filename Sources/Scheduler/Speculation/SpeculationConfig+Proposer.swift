import CorralCore

extension SpeculationConfig {
    /// The proposer the method names when it needs nothing beyond the scheduler; nil when
    /// speculation is off or the engine supplies it (a draft model).
    var proposer: (any DraftProposer)? {
        switch method {
        case .off, .draft: nil
        case .ngram: NgramProposer(minMatch: minMatch, maxMatch: maxMatch)
        }
    }
}
