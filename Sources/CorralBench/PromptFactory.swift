/// Builds prompts of an exact token count: common one-token words, with each request's
/// words rotated so no two prompts share a prefix (a server's prefix cache gets no free
/// wins), checked and adjusted against the server's own `/tokenize`.
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
            (0..<max(n, 1)).map { Self.words[($0 * 7 + index * 13 + index / Self.words.count) % Self.words.count] }
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
