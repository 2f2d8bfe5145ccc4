import CorralCore

/// Prompt lookup: proposes draft tokens by finding the latest earlier occurrence of a
/// sequence's last tokens in its own history (prompt and output) and copying what followed
/// it. Pure, allocation-free but for the result, and bounded by the history's length.
///
/// The longest match (`maxMatch` tokens) is tried first, down to `minMatch`, as vLLM's
/// n-gram proposer does; among matches of one length the latest wins, as in llama.cpp's
/// `common_ngram_simple_draft`, since recent text predicts the next text best.
final class NgramProposer: DraftProposer {
    /// Shortest suffix that must recur.
    let minMatch: Int
    /// Longest suffix tried first.
    let maxMatch: Int

    init(minMatch: Int, maxMatch: Int) {
        self.minMatch = minMatch
        self.maxMatch = maxMatch
    }

    /// Up to `limit` tokens that followed the latest earlier occurrence of the longest
    /// matching suffix of `history`; empty when no suffix of at least `minMatch` recurs.
    func propose(_ history: [Token], sequence: UInt64 = 0, limit: Int) -> ArraySlice<Token> {
        let count = history.count
        guard limit > 0, minMatch > 0, count > minMatch else { return [] }
        for n in stride(from: min(maxMatch, count - 1), through: minMatch, by: -1) {
            let suffix = count - n
            // Candidate starts, latest first; a match must end before the suffix does, so
            // at least one token follows it.
            var start = suffix - 1
            while start >= 0 {
                if history[start] == history[suffix], Self.matches(history, at: start, suffix: suffix, length: n) {
                    let from = start + n
                    return history[from..<min(from + limit, count)]
                }
                start -= 1
            }
        }
        return []
    }

    private static func matches(_ history: [Token], at start: Int, suffix: Int, length: Int) -> Bool {
        for k in 1..<length where history[start + k] != history[suffix + k] { return false }
        return true
    }
}
