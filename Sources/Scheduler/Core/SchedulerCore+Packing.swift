extension SchedulerCore {
    /// Orders a step the way llama.cpp runs it in the fewest passes over the weights.
    ///
    /// With one KV stream per sequence, `llama_decode` cuts the batch into ubatches with
    /// `split_equal(sequential: true)` (`src/llama-batch.cpp`): a ubatch only takes
    /// sequences whose ids follow one another, in batch order. So the work goes in
    /// ascending slot order, and when a finished sequence has left a hole between running
    /// ones, the highest running sequence moves down into it: one copy of its KV now
    /// instead of an extra pass on every step it has left.
    func arrange(_ plan: inout StepPlan) {
        if executor.packsSlots { packSlots(&plan) }
        plan.items.sort { $0.work.slot < $1.work.slot }
    }

    private func packSlots(_ plan: inout StepPlan) {
        // Only a hole between running slots splits the batch; free slots below or above
        // them may keep their cached KV (the slot cache), so the run need not start at 0.
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
            countSlotMove()
            for i in plan.items.indices where plan.items[i].sequence === high { plan.items[i].work.slot = low }
        }
    }
}
