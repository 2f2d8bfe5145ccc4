import CorralCore

/// A free slot picked for a waiting sequence by the slot cache, and what it reuses there.
struct SlotChoice {
    /// The slot to take.
    var slot: Int
    /// Leading tokens whose KV will not be recomputed.
    var reuse: Int
    /// A host-tier entry to restore into the slot first.
    var host: HostCache.Entry?
    /// An empty slot to copy the reused prefix into, leaving the resident whole where it is
    /// (its conversation will likely come back for the rest).
    var copyTo: Int?

    /// The slot the sequence runs in.
    var target: Int { copyTo ?? slot }
}

extension SchedulerCore {
    /// Where `seq` should run in the slot-cache layout: the free slot whose resident shares
    /// the longest prefix with it (at least a block, so a stray match on the first few
    /// tokens does not cost a warm slot its tail), or a host-tier entry a block longer
    /// still, restored into the coldest free slot, or else the coldest free slot.
    func chooseSlot(for seq: SequenceState) -> SlotChoice? {
        guard let cache = slotCache, let coldest = emptySlotBesideTheBatch() ?? cache.coldest(among: freeSlots) else { return nil }
        let minimum = max(config.prefixBlockSize, 1)
        var choice = SlotChoice(slot: coldest, reuse: 0)
        if let r = cache.bestMatch(for: seq.tokens, scope: seq.cacheScope, among: freeSlots), r.length >= minimum {
            choice = SlotChoice(slot: r.slot, reuse: r.length)
            // A shared prefix (a system prompt) in front of another conversation's history:
            // copy the partition into an empty slot (one buffer copy, far cheaper than the
            // prefill) rather than cut that history off.
            let tail = (cache.residents[r.slot]?.tokens.count ?? 0) - r.length
            if tail >= minimum, let empty = emptySlotBesideTheBatch() ?? freeSlots.filter({ cache.residents[$0] == nil }).min() {
                choice.copyTo = empty
            }
        }
        if let h = hostCache?.bestMatch(for: seq.tokens, scope: seq.cacheScope), h.length >= choice.reuse + minimum {
            choice = SlotChoice(slot: coldest, reuse: h.length, host: h.entry)
        }
        return choice
    }

    /// A free slot holding nothing right above or below the running slots, so the batch
    /// stays one run of consecutive slots (one engine pass) without moving anyone.
    func emptySlotBesideTheBatch() -> Int? {
        guard let cache = slotCache else { return nil }
        let slots = running.compactMap(\.slot)
        guard let low = slots.min(), let high = slots.max() else { return freeSlots.filter { cache.residents[$0] == nil }.min() }
        return [high + 1, low - 1].first { freeSlots.contains($0) && cache.residents[$0] == nil }
    }

    /// Cells that taking `choice` frees from the cache's count: the chosen slot's resident
    /// leaves it (what is reused becomes the sequence's own).
    func cellsFreed(by choice: SlotChoice) -> Int {
        choice.copyTo != nil ? 0 : slotCache?.residents[choice.slot]?.tokens.count ?? 0
    }

    /// Takes the chosen slot and makes its KV hold exactly the reused prefix: trims a
    /// resident, or restores a host entry (falling back to nothing reused if the engine
    /// refuses it). A resident whose tail is lost is saved to the host tier first.
    /// - Returns: the tokens reused.
    func take(_ choice: SlotChoice, for seq: SequenceState) -> Int {
        if let empty = choice.copyTo {
            freeSlots.removeAll { $0 == empty }
            executor.copy(from: choice.slot, to: empty, length: choice.reuse)
            return choice.reuse
        }
        freeSlots.removeAll { $0 == choice.slot }
        let slot = choice.slot
        let resident = slotCache?.residents[slot]
        if let host = choice.host {
            if resident != nil { evictResident(of: slot) }
            if let tier = hostCache, executor.restoreState(host.state, slot: slot) {
                tier.remove(host)
                executor.trim(slot: slot, from: choice.reuse)
                countHostHit(choice.reuse)
                return choice.reuse
            }
            executor.release(slot: slot)
            return 0
        }
        guard let resident else { return 0 }
        if choice.reuse > 0 {
            if resident.tokens.count - choice.reuse >= max(config.prefixBlockSize, 1) { save(resident, from: slot) }
            slotCache?.forget(slot: slot)
            executor.trim(slot: slot, from: choice.reuse)
            return choice.reuse
        }
        evictResident(of: slot)
        return 0
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
