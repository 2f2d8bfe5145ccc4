public import CorralCore
import CLlama

extension LlamaContext {
    /// Computes pooled, normalized vectors for whole inputs, one per sequence id, in as
    /// few engine calls as keep each input inside one pass (see `embeddingGroups`).
    /// Each sequence's KV is cleared first, so a retry after a failed pass starts clean;
    /// the cells the pass fills stay until the caller removes the sequence.
    /// - Parameter inputs: (sequence id, tokens from position 0).
    /// - Throws: `.invalidArgument` without pooling or for an input longer than a pass,
    ///   `.noKVSpace` or `.decodeFailed` from the engine.
    public func embed(_ inputs: [(sequence: Int, tokens: ArraySlice<Token>)]) throws(LlamaError) -> [[Float]] {
        guard let pooling, pooling != .none else {
            throw .invalidArgument("this context pools no embeddings (start it with a pooling other than none)")
        }
        if let long = inputs.first(where: { $0.tokens.count > passCapacity }) {
            throw .invalidArgument("an embedding input of \(long.tokens.count) tokens exceeds one pass of \(passCapacity)")
        }
        llama_set_embeddings(pointer, true)
        defer { llama_set_embeddings(pointer, false) }
        var out: [[Float]] = []
        out.reserveCapacity(inputs.count)
        for group in Self.embeddingGroups(inputs.map { ($0.sequence, $0.tokens.count) }, pass: passCapacity,
                                          unified: unifiedKV) {
            clearBatch()
            for i in group {
                removeSequence(inputs[i].sequence)
                for (position, token) in inputs[i].tokens.enumerated() {
                    try add(token: token, position: position, sequence: inputs[i].sequence, wantsLogits: true)
                }
            }
            try decode()
            for i in group {
                guard let pooled = llama_get_embeddings_seq(pointer, Int32(inputs[i].sequence)) else {
                    throw .invalidArgument("the engine pooled no vector for sequence \(inputs[i].sequence)")
                }
                out.append(l2Normalized(Array(UnsafeBufferPointer(start: pooled, count: embeddingWidth))))
            }
        }
        return out
    }

    /// Width of a pooled vector.
    public var embeddingWidth: Int { Int(llama_model_n_embd_out(model.pointer)) }

    /// Splits inputs (sequence id, length), in order, into runs that one `llama_decode`
    /// computes with every input inside a single pass, since the engine pools per pass.
    /// - Unified KV (`split_simple`): a pass takes the batch's tokens in order, so a run
    ///   holds up to `pass` tokens.
    /// - Partitioned KV (`split_equal`, sequential): a pass takes the same number of
    ///   tokens from each of consecutive ascending sequence ids, so a run holds inputs of
    ///   one length in consecutive ids, `pass` tokens at most.
    static func embeddingGroups(_ inputs: [(sequence: Int, length: Int)], pass: Int, unified: Bool) -> [[Int]] {
        var groups: [[Int]] = []
        var tokens = 0
        for (i, input) in inputs.enumerated() {
            if let last = groups.last?.last, tokens + input.length <= pass,
               unified || (inputs[last].length == input.length && inputs[last].sequence + 1 == input.sequence) {
                groups[groups.count - 1].append(i)
                tokens += input.length
            } else {
                groups.append([i])
                tokens = input.length
            }
        }
        return groups
    }
}
