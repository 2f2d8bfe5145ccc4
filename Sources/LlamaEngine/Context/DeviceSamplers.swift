import CLlama
import CorralCore

/// Sampler chains the engine runs inside its own graph ("backend sampling"), one per slot,
/// so that a sequence sampled there sends back one token id instead of a row of logits
/// the size of the vocabulary, and the host never scans that row.
///
/// Only greedy requests with nothing that reads or changes the logits first (no logit
/// bias, penalties, grammar, reasoning budget, logprobs or draft to verify) go there: the
/// device's argmax is the host's argmax, so the output is the same token for token. The
/// engine's device-side `dist` sums probabilities in a different order and precision
/// from the host chain, so a seeded random request would not be reproducible across the
/// two paths; those, and everything else, stay on the host.
///
/// A chain can be attached to the context once only (the engine initialises it for the
/// device), and every attach or detach makes the engine rebuild its graph reservation. So
/// a greedy chain stays attached to its slot after the request ends, for the next greedy
/// request there, and is dropped only when a request needing the host takes the slot.
final class DeviceSamplers {
    private let context: LlamaContext
    /// The chain attached to each slot, if any.
    private var chains: [UnsafeMutablePointer<llama_sampler>?]
    /// Whether the slot's current request is sampled on the device.
    private var active: [Bool]
    /// Tokens read back from the device so far.
    var sampled = 0

    init(context: LlamaContext) {
        self.context = context
        chains = Array(repeating: nil, count: context.maxSequences)
        active = Array(repeating: false, count: context.maxSequences)
    }

    deinit {
        for slot in chains.indices { detach(slot) }
    }

    /// Whether a request with these parameters can be sampled on the device, identically.
    static func supports(_ p: SamplingParameters) -> Bool {
        p.isGreedy && p.logitBias.isEmpty && !p.hasPenalties && p.grammar == nil && p.thinking == nil
    }

    /// Whether `slot`'s current request is sampled on the device.
    func isActive(_ slot: Int) -> Bool { active[slot] }

    /// Sets `slot` up for a new request: a greedy chain attached when the device can
    /// sample it, none otherwise (a chain left attached would hide the slot's logits).
    func open(slot: Int, sampling: SamplingParameters) {
        active[slot] = Self.supports(sampling) && attach(slot)
        if !active[slot] { detach(slot) }
    }

    /// The request on `slot` ended; its chain stays for the next greedy request.
    func release(slot: Int) { active[slot] = false }

    /// The request on `source` moved to the empty `destination`.
    func move(from source: Int, to destination: Int) {
        let wasActive = active[source]
        active[source] = false
        active[destination] = wasActive && attach(destination)
        if !active[destination] { detach(destination) }
    }

    /// Sends `slot` back to host sampling for the rest of its request (a draft to verify,
    /// logprobs asked for, an embedding pass): the host's argmax continues it unchanged.
    func fallBack(slot: Int) {
        active[slot] = false
        detach(slot)
    }

    /// Whether a chain left from an earlier request is attached to `slot`.
    func hasChain(_ slot: Int) -> Bool { chains[slot] != nil }

    private func attach(_ slot: Int) -> Bool {
        if chains[slot] != nil { return true }
        var params = llama_sampler_chain_default_params()
        params.no_perf = true
        guard let chain = llama_sampler_chain_init(params) else { return false }
        llama_sampler_chain_add(chain, llama_sampler_init_greedy())
        guard context.setDeviceSampler(chain, sequence: slot) else {
            llama_sampler_free(chain)
            return false
        }
        chains[slot] = chain
        return true
    }

    private func detach(_ slot: Int) {
        guard let chain = chains[slot] else { return }
        _ = context.setDeviceSampler(nil, sequence: slot)
        llama_sampler_free(chain)
        chains[slot] = nil
    }
}
