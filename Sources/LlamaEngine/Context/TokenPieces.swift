import CorralCore

/// Each token's bytes, asked of the engine once and kept, for the engine thread's
/// detokenizing: a step turns every sequence's new token into text, and asking the
/// engine each time costs two allocations per token on the hot path. Engine thread only.
final class TokenPieces {
    private let model: LlamaModel
    /// Indexed by token id; filled as tokens are first seen (a few MB at most for a 128k
    /// vocabulary, since only tokens a model actually emits are kept).
    private var pieces: [[UInt8]?]

    init(model: LlamaModel) {
        self.model = model
        pieces = Array(repeating: nil, count: model.vocabSize)
    }

    /// The bytes `token` decodes to (control tokens as empty, as the model spells them).
    func bytes(_ token: Token) -> [UInt8] {
        guard model.isValidToken(token) else { return model.tokenBytes(token) }
        if let piece = pieces[Int(token)] { return piece }
        let piece = model.tokenBytes(token)
        pieces[Int(token)] = piece
        return piece
    }
}
