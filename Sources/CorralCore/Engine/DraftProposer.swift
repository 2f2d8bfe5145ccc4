/// A source of draft tokens for speculative decoding: a guess at what follows a sequence,
/// which the engine then verifies. A wrong guess costs verification time only, never a
/// different output. Called on the engine thread only, between steps.
public protocol DraftProposer: AnyObject {
    /// Up to `limit` tokens guessed to follow `history` (the sequence's prompt and output
    /// so far); empty for no guess.
    /// - Parameter sequence: the request's id in the scheduler, stable for its life, so a
    ///   proposer may keep state per sequence.
    func propose(_ history: [Token], sequence: UInt64, limit: Int) -> ArraySlice<Token>
    /// The sequence has ended: drop whatever was kept for it.
    func forget(sequence: UInt64)
}

extension DraftProposer {
    /// Nothing kept per sequence.
    public func forget(sequence: UInt64) {}
}
