import CorralCore

/// Builds prompts of an exact token count: common one-token words, drawn at random for
/// each request index so no two prompts share more than a word or two of prefix (a
/// server's prefix cache gets no free wins), checked and adjusted against the server's own
/// `/tokenize`.
public struct PromptFactory: Sendable {
    static let words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red", "sun",
                        "in", "sky", "we", "saw", "one", "old", "man", "with", "hat", "by", "sea", "it", "was",
                        "cold", "day", "but", "all", "of", "us", "had", "fun", "at", "home", "for", "time"]

    let client: BenchClient

    /// Creates a factory asking `client`'s server to count.
    public init(client: BenchClient) { self.client = client }

    /// A prompt of `tokens` tokens for request `index`, and whether the count is exact
    /// (false when the server has no `/tokenize`: then one word is taken as one token).
    public func prompt(tokens: Int, index: Int) async -> (text: String, exact: Bool) {
        var count = tokens
        func text(_ n: Int) -> String {
            // A rotation of one word list repeats itself across indices (and would hand a
            // prefix cache whole prompts); a stream seeded by the index does not.
            var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15 &+ 0x5EED)
            return (0..<max(n, 1)).map { _ in Self.words[Int(rng.next() % UInt64(Self.words.count))] }
                .joined(separator: " ")
        }
        for _ in 0..<8 {
            let candidate = text(count)
            guard let measured = await client.countTokens(candidate) else { return (text(tokens), false) }
            if measured == tokens { return (candidate, true) }
            count += tokens - measured
            if count < 1 { break }
        }
        return (text(tokens), false)
    }
}
