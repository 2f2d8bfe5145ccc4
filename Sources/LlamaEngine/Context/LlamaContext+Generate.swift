public import CorralCore

/// A simple, blocking generation loop for one or more sequences decoded together.
///
/// The server uses the scheduler instead; this loop serves `corral generate`, warm-up and
/// the engine's own tests, where a straight line from prompt to tokens is what we want.
extension LlamaContext {
    /// Generates up to `maxTokens` for each prompt, all sequences sharing each decode.
    /// Sequence `i` uses KV sequence id `i`; all KV is dropped at the end.
    /// - Parameter onToken: called with (sequence, token) as tokens arrive.
    /// - Returns: the generated tokens of each sequence, stopping at end-of-generation.
    public func generate(prompts: [[Token]], maxTokens: Int, parameters: SamplingParameters = .greedy,
                         onToken: (Int, Token) -> Void = { _, _ in }) throws(LlamaError) -> [[Token]] {
        guard prompts.count <= maxSequences else {
            throw .invalidArgument("\(prompts.count) prompts exceed \(maxSequences) sequences")
        }
        guard let longest = prompts.map(\.count).max(), longest > 0, !prompts.contains(where: \.isEmpty) else {
            throw .invalidArgument("every prompt needs at least one token")
        }
        guard maxTokens > 0 else { throw .invalidArgument("maxTokens must be at least 1") }
        guard longest + maxTokens <= contextLength else {
            throw .invalidArgument("prompt of \(longest) plus \(maxTokens) new tokens exceeds context \(contextLength)")
        }
        defer { for s in prompts.indices { removeSequence(s) } }
        let samplers = prompts.map { _ in LlamaSampler(model: model, parameters: parameters) }
        var outputs = Array(repeating: [Token](), count: prompts.count)
        var done = Array(repeating: false, count: prompts.count)
        var sampleAt = Array(repeating: -1, count: prompts.count)

        // Prefill in chunks that fit the batch. Every prompt's last token goes into the final
        // chunk, which asks for their logits: a later decode would replace the logits of an
        // earlier chunk before they were sampled.
        let body = prompts.indices.flatMap { s in prompts[s].indices.dropLast().map { (s, $0) } }
        let lasts = prompts.indices.map { ($0, prompts[$0].count - 1) }
        let split = max(body.count - (batchCapacity - lasts.count), 0)
        var chunks = stride(from: 0, to: split, by: batchCapacity).map { Array(body[$0..<min($0 + batchCapacity, split)]) }
        chunks.append(Array(body[split...]) + lasts)
        for chunk in chunks {
            clearBatch()
            for (s, p) in chunk {
                let isLast = p == prompts[s].count - 1
                let i = try add(token: prompts[s][p], position: p, sequence: s, wantsLogits: isLast)
                if isLast { sampleAt[s] = i }
            }
            try decode()
        }
        while true {
            clearBatch()
            for s in prompts.indices where !done[s] {
                let token = samplers[s].sample(self, batchIndex: sampleAt[s])
                if model.isEndOfGeneration(token) { done[s] = true; continue }
                outputs[s].append(token)
                onToken(s, token)
                // The last token needs no decode: nothing will be sampled after it.
                if outputs[s].count == maxTokens { done[s] = true; continue }
                sampleAt[s] = try add(token: token, position: prompts[s].count + outputs[s].count - 1,
                                      sequence: s, wantsLogits: true)
            }
            if batchCount == 0 { break }
            try decode()
        }
        return outputs
    }
}
