extension SchedulerCore {
    /// Orders a step the way llama.cpp runs it in the fewest passes over the weights.
    ///
    /// With one KV stream per sequence, `llama_decode` cuts the batch into ubatches with
    /// `split_equal(sequential: true)` (`src/llama-batch.cpp`): a ubatch only takes
    /// sequences whose ids follow one another, in batch order. So the work goes in
    /// ascending slot order, and when a finished sequence has left a hole between running
    /// ones, the highest running sequence moves down into it (`KVCacheManager.pack`): one
    /// copy of its KV now instead of an extra pass on every step it has left. Where the
    /// executor cannot mix LoRA adapters a step runs one adapter's group, so what must stay
    /// consecutive is each group's slots rather than all of them (`KVCacheManager.regroup`).
    func arrange(_ plan: inout StepPlan) {
        if executor.packsSlots {
            let changed: [SequenceState], copies: Int
            if !executor.mixesAdapters,
               running.contains(where: { $0.request.adapter != running.first?.request.adapter }) {
                (changed, copies) = kv.regroup(running)
            } else {
                changed = kv.pack(running)
                copies = changed.count  // each a move with its KV
            }
            for _ in 0..<copies { countSlotMove() }
            for seq in changed {
                for i in plan.items.indices where plan.items[i].sequence === seq { plan.items[i].work.slot = seq.slot! }
            }
        }
        plan.items.sort { $0.work.slot < $1.work.slot }
    }
}
