extension KVCacheManager {
    /// Closes holes between running slots: while a free slot lies between the lowest and
    /// the highest running slot, the highest running sequence moves down into it (its KV
    /// and its sampler), so the batch is one run of consecutive slots.
    ///
    /// Only a hole between running slots splits the batch; free slots below or above them
    /// may keep their cached KV (the slot cache), so the run need not start at 0. A
    /// sequence sharing a cached prefix stays put: its cells are tagged with the entry's.
    /// - Returns: the sequences moved, once per move (their `slot` is already the new one).
    func pack(_ running: [SequenceState]) -> [SequenceState] {
        var moved: [SequenceState] = []
        while let bottom = running.compactMap(\.slot).min(),
              let high = running.max(by: { $0.slot! < $1.slot! }),
              let from = high.slot,
              let low = freeSlots.last(where: { $0 > bottom && $0 < from }),
              high.borrow.entry == nil, !high.forks.holdsReservation {
            freeSlots.removeAll { $0 == low }
            if slotCache?.residents[low] != nil { evictResident(of: low) }
            executor.move(from: from, to: low, length: high.computed)
            giveBackSlot(from)
            high.slot = low
            moved.append(high)
        }
        return moved
    }
}
