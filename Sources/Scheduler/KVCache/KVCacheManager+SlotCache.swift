import CorralCore

/// A free slot picked for a waiting sequence by the slot cache, and what it reuses there.
struct SlotChoice {
    /// The slot to take.
    var slot: Int
    /// Leading tokens whose KV will not be recomputed.
    var reuse: Int
    /// A host-tier entry to restore into the slot first.
    var host: HostCache.Entry?
    /// A free slot to copy the reused prefix into: from a resident that stays whole where
    /// it is (its conversation will likely come back for the rest), or from a running
    /// sequence that computed the same prefix.
    var copyTo: Int?
    /// Admit nothing yet: a running sequence is computing a long prefix this one shares,
    /// and copying it in a step or two beats computing it twice.
    var wait = false

    /// The slot the sequence runs in.
    var target: Int { copyTo ?? slot }
}

extension KVCacheManager {
    /// Where `seq` should run in the slot-cache layout: the free slot whose resident shares
    /// the longest prefix with it (at least a block, so a stray match on the first few
    /// tokens does not cost a warm slot its tail), or a host-tier entry a block longer
    /// still, restored into the coldest free slot, or else the coldest free slot.
    /// - Parameter running: the running batch (a source to copy from, and the run of slots
    ///   to stay beside).
    func chooseSlot(for seq: SequenceState, running: [SequenceState]) -> SlotChoice? {
        guard let cache = slotCache,
              let coldest = emptySlotBesideTheBatch(running) ?? cache.coldest(among: freeSlots) else { return nil }
        let minimum = blockSize
        var choice = SlotChoice(slot: coldest, reuse: 0)
        if let r = cache.bestMatch(for: seq.tokens, scope: seq.cacheScope, among: freeSlots), r.length >= minimum {
            choice = SlotChoice(slot: r.slot, reuse: r.length)
            // A shared prefix (a system prompt) in front of another conversation's history:
            // copy the partition into an empty slot (one buffer copy, far cheaper than the
            // prefill) rather than cut that history off.
            let tail = (cache.residents[r.slot]?.tokens.count ?? 0) - r.length
            if tail >= minimum, executor.packsSlots,
               let empty = emptySlotBesideTheBatch(running) ?? freeSlots.filter({ cache.residents[$0] == nil }).min() {
                choice.copyTo = empty
            }
        }
        // A slot copied from in this plan is copied at the next decode: restoring into it
        // now would be copied instead.
        if let h = hostCache?.bestMatch(for: seq.tokens, scope: seq.cacheScope), h.length >= choice.reuse + minimum,
           !copiedThisStep.contains(coldest) {
            choice = SlotChoice(slot: coldest, reuse: h.length, host: h.entry)
        }
        // Requests that arrive together with one prompt (a burst of chats with one system
        // prompt, the choices of n > 1): the first computes it, the others copy its slot.
        // (Partitions only: a unified cache's block cache shares cells instead.)
        if executor.packsSlots, let (source, shared) = runningSource(for: seq, among: running), shared >= choice.reuse + minimum {
            let ready = min(shared, source.computed)
            if shared - ready >= 4 * minimum {
                choice.wait = true  // bounded: the source's prefill comes first in every step
            } else if ready >= choice.reuse + minimum {
                choice = SlotChoice(slot: source.slot!, reuse: ready, copyTo: coldest)
            }
        }
        return choice
    }

    /// The running sequence of `seq`'s scope whose tokens share the longest prefix with
    /// `seq`'s prompt (leaving its last token to compute), and that length.
    private func runningSource(for seq: SequenceState, among running: [SequenceState]) -> (SequenceState, Int)? {
        var best: (SequenceState, Int)?
        for r in running where r.slot != nil && !r.cancelled && r.cacheScope == seq.cacheScope {
            let n = commonPrefixLength(r.tokens, seq.tokens, limit: seq.tokens.count - 1)
            if n > (best?.1 ?? 0) { best = (r, n) }
        }
        return best
    }

    /// The tokens a waiting sequence would reuse from the best free slot, for cache-aware
    /// admission; nil when no slot could be reused now (no slot cache, or no free slot).
    var slotReuse: ((SequenceState) -> Int)? {
        guard let cache = slotCache, !freeSlots.isEmpty else { return nil }
        let free = freeSlots
        return { seq in cache.bestMatch(for: seq.tokens, scope: seq.cacheScope, among: free)?.length ?? 0 }
    }

    /// A free slot holding nothing right above or below the running slots, so the batch
    /// stays one run of consecutive slots (one engine pass) without moving anyone.
    func emptySlotBesideTheBatch(_ running: [SequenceState]) -> Int? {
        guard let cache = slotCache else { return nil }
        let slots = running.compactMap(\.slot)
        guard let low = slots.min(), let high = slots.max() else { return freeSlots.filter { cache.residents[$0] == nil }.min() }
        return [high + 1, low - 1].first { freeSlots.contains($0) && cache.residents[$0] == nil }
    }

    /// Cells that taking `choice` frees from the cache's count: the chosen slot's resident
    /// leaves it (what is reused becomes the sequence's own).
    func cellsFreed(by choice: SlotChoice) -> Int {
        slotCache?.residents[choice.target]?.tokens.count ?? 0
    }

    /// Takes the chosen slot and makes its KV hold exactly the reused prefix: trims a
    /// resident, or restores a host entry (falling back to nothing reused if the engine
    /// refuses it). A resident whose tail is lost is saved to the host tier first.
    /// - Returns: the tokens reused, and whether they came back from the host tier.
    func take(_ choice: SlotChoice) -> (reused: Int, restored: Bool) {
        if let empty = choice.copyTo {
            if slotCache?.residents[empty] != nil { evictResident(of: empty) }
            freeSlots.removeAll { $0 == empty }
            executor.copy(from: choice.slot, to: empty, length: choice.reuse)
            copiedThisStep.insert(choice.slot)
            return (choice.reuse, false)
        }
        freeSlots.removeAll { $0 == choice.slot }
        let slot = choice.slot
        let resident = slotCache?.residents[slot]
        if let host = choice.host {
            if resident != nil { evictResident(of: slot) }
            if let tier = hostCache, executor.restoreState(host.state, slot: slot) {
                tier.remove(host)
                executor.trim(slot: slot, from: choice.reuse)
                return (choice.reuse, true)
            }
            executor.release(slot: slot)
            return (0, false)
        }
        guard let resident else { return (0, false) }
        if choice.reuse > 0 {
            if resident.tokens.count - choice.reuse >= blockSize { save(resident, from: slot) }
            slotCache?.forget(slot: slot)
            executor.trim(slot: slot, from: choice.reuse)
            return (choice.reuse, false)
        }
        evictResident(of: slot)
        return (0, false)
    }

    /// Empties a free slot, saving its resident to the host tier.
    func evictResident(of slot: Int) {
        if let resident = slotCache?.residents[slot] { save(resident, from: slot) }
        slotCache?.forget(slot: slot)
        executor.release(slot: slot)
    }

    /// Copies a resident's KV to the host tier, unless the tier already holds it.
    private func save(_ resident: SlotCache.Resident, from slot: Int) {
        guard let tier = hostCache, !tier.covers(resident.tokens, scope: resident.scope),
              let state = executor.saveState(slot: slot), state.length == resident.tokens.count else { return }
        tier.insert(tokens: resident.tokens, scope: resident.scope, state: state)
    }
}
