/// The log-probability of a token, with the most likely alternatives at that position.
public struct TokenLogprobs: Sendable, Equatable {
    /// The chosen token and its natural-log probability under the model.
    public var token: Token
    /// `log p(token)`.
    public var logprob: Float
    /// The most likely tokens at this position, best first.
    public var top: [(token: Token, logprob: Float)]

    /// Creates a value.
    public init(token: Token, logprob: Float, top: [(token: Token, logprob: Float)]) {
        self.token = token
        self.logprob = logprob
        self.top = top
    }

    /// Compares token ids and probabilities.
    public static func == (a: TokenLogprobs, b: TokenLogprobs) -> Bool {
        a.token == b.token && a.logprob == b.logprob
            && a.top.map(\.token) == b.top.map(\.token) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }
}
