import CorralCore

/// A free slot picked for a waiting sequence by the slot cache, and what it reuses there.
struct SlotChoice {
    /// The slot to take.
    var slot: Int
    /// Leading tokens whose KV will not be recomputed.
    var reuse: Int
    /// A host-tier entry to restore into the slot first.
    var host: HostCache.Entry?
}

extension SchedulerCore {
    /// Where `seq` should run in the slot-cache layout: the free slot whose resident shares
    /// the longest prefix with it (at least a block, so a stray match on the first few
    /// tokens does not cost a warm slot its tail), or a host-tier entry a block longer
    /// still, restored into the coldest free slot, or else the coldest free slot.
    func chooseSlot(for seq: SequenceState) -> SlotChoice? {
        guard let cache = slotCache, let coldest = cache.coldest(among: freeSlots) else { return nil }
        let minimum = max(config.prefixBlockSize, 1)
        var choice = SlotChoice(slot: coldest, reuse: 0)
        if let r = cache.bestMatch(for: seq.tokens, scope: seq.cacheScope, among: freeSlots), r.length >= minimum {
            choice = SlotChoice(slot: r.slot, reuse: r.length)
        }
        if let h = hostCache?.bestMatch(for: seq.tokens, scope: seq.cacheScope), h.length >= choice.reuse + minimum {
            choice = SlotChoice(slot: coldest, reuse: h.length, host: h.entry)
        }
        return choice
    }

    /// Cells that taking `choice` frees from the cache's count: the chosen slot's resident
    /// leaves it (what is reused becomes the sequence's own).
    func cellsFreed(by choice: SlotChoice) -> Int {
        slotCache?.residents[choice.slot]?.tokens.count ?? 0
    }

    /// Takes the chosen slot and makes its KV hold exactly the reused prefix: trims a
    /// resident, or restores a host entry (falling back to nothing reused if the engine
    /// refuses it). A resident whose tail is lost is saved to the host tier first.
    /// - Returns: the tokens reused.
    func take(_ choice: SlotChoice, for seq: SequenceState) -> Int {
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
