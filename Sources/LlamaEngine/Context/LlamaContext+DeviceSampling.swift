import CLlama
public import CorralCore

extension LlamaContext {
    /// Attaches `chain` to `sequence` so the engine samples it inside the graph, or
    /// detaches what is there when `chain` is nil. False when the engine cannot run the
    /// chain on its device (it then samples nothing for that sequence).
    func setDeviceSampler(_ chain: UnsafeMutablePointer<llama_sampler>?, sequence: Int) -> Bool {
        llama_set_sampler(pointer, Int32(sequence), chain)
    }

    /// The token the engine sampled on the device at `batchIndex` of the last decode, or
    /// nil when that position's sequence has no device sampler.
    public func deviceSampledToken(batchIndex: Int) -> Token? {
        let token = llama_get_sampled_token_ith(pointer, Int32(batchIndex))
        return token == LLAMA_TOKEN_NULL ? nil : token
    }
}
