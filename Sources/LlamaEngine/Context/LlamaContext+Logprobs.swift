import CLlama
public import CorralCore
import Foundation

extension LlamaContext {
    /// Log-probabilities of the raw model distribution at `batchIndex` (before any
    /// sampler transforms, as vLLM reports them): the chosen token and the `top` best.
    public func logprobs(batchIndex: Int, chosen: Token, top: Int) -> TokenLogprobs {
        guard let logits = llama_get_logits_ith(pointer, Int32(batchIndex)) else {
            return TokenLogprobs(token: chosen, logprob: 0, top: [])
        }
        let n = model.vocabSize
        var maxLogit = -Float.infinity
        for i in 0..<n where logits[i] > maxLogit { maxLogit = logits[i] }
        var sum: Float = 0
        for i in 0..<n { sum += expf(logits[i] - maxLogit) }
        let logZ = maxLogit + logf(sum)
        let chosenLogprob = model.isValidToken(chosen) ? logits[Int(chosen)] - logZ : -Float.infinity
        guard top > 0 else { return TokenLogprobs(token: chosen, logprob: chosenLogprob, top: []) }
        // A small insertion-sorted window keeps this O(vocab × top) with no full sort.
        var best: [(token: Token, logit: Float)] = []
        best.reserveCapacity(top + 1)
        for i in 0..<n {
            let v = logits[i]
            if best.count == top, let last = best.last, v <= last.logit { continue }
            let at = best.firstIndex { $0.logit < v } ?? best.count
            best.insert((Token(i), v), at: at)
            if best.count > top { best.removeLast() }
        }
        return TokenLogprobs(token: chosen, logprob: chosenLogprob, top: best.map { ($0.token, $0.logit - logZ) })
    }
}
