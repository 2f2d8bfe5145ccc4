import CorralCore

extension KVCacheManager {
    /// One change of slots that `regroup` may make.
    private enum Regroup {
        /// A running sequence moves into a free slot.
        case move(SequenceState, to: Int)
        /// A sequence with nothing computed yet trades slots with another running one, which
        /// moves (its KV) into the first one's slot.
        case swap(fresh: SequenceState, with: SequenceState)
    }

    /// Keeps each adapter's running sequences in consecutive slots, in the partitioned
    /// layout, where llama.cpp runs a pass per run of consecutive slot ids and a step
    /// serves one adapter's group: a group spread over k runs costs k passes over the
    /// weights on every one of its steps.
    ///
    /// Greedy, at most `maxCopies` KV copies a step: each round takes the change that ends
    /// the most runs (summed over all groups), preferring one that copies nothing — a
    /// sequence just admitted has no KV yet, so it moves or trades places for free, and
    /// its partner's KV is copied once. A change that ends no run is not made.
    /// - Returns: the sequences whose slot changed, and the KV copies that took.
    func regroup(_ running: [SequenceState], maxCopies: Int = 1) -> (changed: [SequenceState], copies: Int) {
        var changed: [SequenceState] = []
        var copies = 0
        while let (gain, change) = bestRegroup(running, copiesLeft: maxCopies - copies), gain > 0 {
            switch change {
            case .move(let seq, let to):
                if seq.computed > 0 { copies += 1 }
                freeSlots.removeAll { $0 == to }
                if slotCache?.residents[to] != nil { evictResident(of: to) }
                executor.move(from: seq.slot!, to: to, length: seq.computed)
                giveBackSlot(seq.slot!)
                seq.slot = to
                changed.append(seq)
            case .swap(let fresh, let other):
                if other.computed > 0 { copies += 1 }
                let (a, b) = (fresh.slot!, other.slot!)
                executor.move(from: b, to: a, length: other.computed)
                executor.open(slot: b, sampling: fresh.request.sampling,
                              history: Array(fresh.tokens[fresh.promptCount...]))
                (fresh.slot, other.slot) = (b, a)
                changed += [fresh, other]
            }
        }
        return (changed, copies)
    }

    /// The change that ends the most runs within `copiesLeft` copies, and how many it ends.
    private func bestRegroup(_ running: [SequenceState], copiesLeft: Int) -> (Int, Regroup)? {
        let movable = running.filter {
            $0.slot != nil && $0.borrow.entry == nil && !$0.forks.holdsReservation && !copiedThisStep.contains($0.slot!)
        }
        var slots = Dictionary(uniqueKeysWithValues: running.compactMap { s in s.slot.map { ($0, s.request.adapter) } })
        let now = Self.runs(slots)
        var best: (gain: Int, copies: Int, change: Regroup)?
        func consider(_ gain: Int, _ copies: Int, _ change: Regroup) {
            guard copies <= copiesLeft, gain > 0 else { return }
            if best == nil || gain > best!.gain || (gain == best!.gain && copies < best!.copies) {
                best = (gain, copies, change)
            }
        }
        let free = freeSlots.filter { !copiedThisStep.contains($0) }
        for seq in movable {
            let from = seq.slot!, adapter = seq.request.adapter
            slots[from] = nil
            for to in free {
                slots[to] = adapter
                consider(now - Self.runs(slots), seq.computed > 0 ? 1 : 0, .move(seq, to: to))
                slots[to] = nil
            }
            slots[from] = adapter
            // Trading places is free for the fresh one; its partner's KV is copied.
            guard seq.computed == 0 else { continue }
            for other in movable where other !== seq && other.request.adapter != adapter {
                let at = other.slot!
                (slots[from], slots[at]) = (other.request.adapter, adapter)
                consider(now - Self.runs(slots), other.computed > 0 ? 1 : 0, .swap(fresh: seq, with: other))
                (slots[from], slots[at]) = (adapter, other.request.adapter)
            }
        }
        return best.map { ($0.gain, $0.change) }
    }

    /// Runs of consecutive slots holding one adapter's sequences, summed over adapters: the
    /// passes a full round of groups takes.
    static func runs(_ slots: [Int: Int]) -> Int {
        var runs = 0
        for (slot, adapter) in slots where slots[slot - 1] != adapter { runs += 1 }
        return runs
    }
}
