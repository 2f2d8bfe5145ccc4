import CorralCore

extension LlamaExecutor {
    /// Before a step's batch is filled: a slot the device samples goes back to the host
    /// when this step asks for more than its argmax (logprobs, or a draft, whose several
    /// outputs per sequence the engine's device sampler does not take), and a chain left
    /// on a slot from an earlier request is dropped when that slot's request samples on
    /// the host, since an attached chain keeps the slot's logits from coming back.
    func prepareDeviceSampling(_ work: [SequenceWork]) {
        guard let device else { return }
        for w in work where w.sample {
            if device.isActive(w.slot) {
                if w.draft > 0 || w.logprobs != nil { device.fallBack(slot: w.slot) }
            } else if device.hasChain(w.slot) {
                device.fallBack(slot: w.slot)
            }
        }
    }

    /// The token the device sampled for `w` at batch index `at`, or nil when the host
    /// must sample it.
    func deviceToken(_ w: SequenceWork, at: Int) -> Token? {
        guard let device, device.isActive(w.slot), let token = context.deviceSampledToken(batchIndex: at) else { return nil }
        device.sampled += 1
        return token
    }

    /// Tokens the engine has sampled on the device for this executor (the rest were
    /// sampled on the host), so a test can tell which path ran.
    public var deviceSampledTokens: Int { device?.sampled ?? 0 }
}
