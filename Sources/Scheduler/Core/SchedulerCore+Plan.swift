import CorralCore

/// One planned step: which sequence gets which tokens.
struct StepPlan {
    var items: [(sequence: SequenceState, work: SequenceWork)] = []
    var work: [SequenceWork] { items.map(\.work) }
    var isEmpty: Bool { items.isEmpty }
}

extension SchedulerCore {
    /// Decides the next step. Order of business:
    /// 1. drop cancelled and expired requests;
    /// 2. every decoding sequence gets one token, preempting the lowest-priority, newest
    ///    sequences when KV runs out (decode-first);
    /// 3. the rest of the token budget goes to prefill chunks of running sequences, then of
    ///    newly admitted ones, in queue order (chunked prefill). A request is admitted only
    ///    when the KV cache can hold its whole prompt.
    ///
    /// Then decoding sequences get draft tokens to verify from what is left (speculative
    /// decoding, `addDrafts`), and the step's work is put in the order the engine batches
    /// best (see `arrange`).
    ///
    /// While LoRA adapters are in play on an executor that cannot mix them in a step, a
    /// step serves one adapter's sequences (see `AdapterGroups`): the groups are tried in
    /// turn until one has work that can run. Corral's engine mixes them (patch 0002).
    func plan() -> StepPlan {
        kv.beginStep()
        unloadRetiredAdapters()
        var plan = planWork()
        addDrafts(to: &plan)
        arrange(&plan)
        return plan
    }

    private func planWork() -> StepPlan {
        let now = clock()
        reap(now: now)
        preemptForRoom()
        let groups = groupOrder()
        for (i, group) in groups.enumerated() {
            let plan = planWork(group: group, now: now, last: i == groups.count - 1)
            guard !plan.isEmpty else { continue }
            if let group { adapters.served(group) }
            return plan
        }
        return StepPlan()
    }

    /// Plans a step for `group`'s sequences (every sequence when nil).
    /// - Parameter last: the last group to try: when nothing at all can run, make room.
    private func planWork(group: Int?, now: Double, last: Bool) -> StepPlan {
        var decoders = running.filter { $0.isDecoding && $0.isIn(group) }
        makeRoom(decoders.count)  // cached prefixes go before running sequences do
        var free = kvFree
        while free < decoders.count, let victim = victimForPreemption() {
            preempt(victim)
            decoders.removeAll { $0 === victim }
            makeRoom(decoders.count)  // the victim's KV may stay as a resident; it goes first
            free = kvFree
        }
        var plan = StepPlan()
        var budget = min(config.maxBatchTokens, executor.maxBatchTokens)
        if config.stepOrder == .prefillFirst {
            // The comparison policy (vLLM v0, llama-server): a step with prompt work runs
            // only prompt work, and decoding streams wait for it.
            planPrefill(&plan, group: group, budget: &budget, free: &free, now: now)
            if !plan.isEmpty { return plan }
        }
        for seq in decoders {
            plan.items.append((seq, work(seq, count: 1)))
            budget -= 1
            free -= 1
        }
        planPrefill(&plan, group: group, budget: &budget, free: &free, now: now)

        // Every running sequence is mid-prefill and the cache is full: free the newest so
        // the others can finish (decode growth ate the room admission had left).
        if plan.isEmpty, last, !running.isEmpty, let victim = victimForPreemption() {
            preempt(victim)
            return planWork()
        }
        return plan
    }

    /// Spends `budget` on prefill chunks: running sequences first, then newly admitted
    /// ones in queue order. Admission needs room for the whole prompt.
    private func planPrefill(_ plan: inout StepPlan, group: Int?, budget: inout Int, free: inout Int, now: Double) {
        // Cells that running prefills still need: admission must leave them alone.
        var reserved = reservedForPrefill
        var prefilling = running.filter { !$0.isDecoding && $0.isIn(group) }.sorted { $0.precedes($1, usePriority: queue.usesPriority) }
        if config.policy == .fair {
            // Prompt chunks go to tenants in fair-share order too.
            let shares = fairShare
            prefilling.sort { a, b in
                let (x, y) = (shares.key(for: a), shares.key(for: b))
                return (a.request.priority, x.1, x.2) < (b.request.priority, y.1, y.2)
            }
        }
        for seq in prefilling where budget > 0 && free > 0 && seq.remainingPrefill > 0 {
            // An embedding input is pooled in one pass: all of it, or not this step.
            if seq.request.embedding, min(budget, free) < seq.remainingPrefill { continue }
            let n = min(seq.remainingPrefill, budget, free)
            plan.items.append((seq, work(seq, count: n)))
            budget -= n
            free -= n
            reserved -= n
        }

        let decoding = plan.items.contains { $0.sequence.isDecoding }
        while budget > 0, running.count < config.maxRunningSequences, let seq = nextWaiting(in: group) {
            // A sibling choice waits for its leader's prompt, then shares it.
            if let leader = seq.forks.leader, !seq.forks.holdsReservation {
                if !leader.forks.declined, leader.phase == .running, leader.computed >= leader.promptCount {
                    kv.forkPrompt(of: leader)
                }
                if !seq.forks.holdsReservation {
                    guard leader.forks.declined || leader.phase == .finished else { break }  // wait for the prompt
                    seq.forks.leader = nil  // no fork to share: prefill alone
                }
            }
            // An embedding input is pooled in one pass: it waits for a step with room for
            // all of it, and reuses no cached prefix (the pool needs every token's state).
            let embedding = seq.request.embedding
            if embedding, budget < seq.tokens.count { break }
            // Pin the reusable prefix first, so making room cannot evict it.
            let hit = embedding ? nil : kv.prefixHit(for: seq)
            let alreadyBorrowed = seq.forks.holdsReservation
            if let hit, !alreadyBorrowed { kv.borrow(hit.entry) }
            var choice = kv.chooseSlot(for: seq, running: running)
            if choice?.wait == true, !embedding { break }  // its prefix is being computed: copy it next step
            if let c = choice, embedding || (c.host != nil && kvFree + kv.cellsFreed(by: c) < c.host!.state.length) {
                // No room to restore it whole, or no reuse wanted: the free slot it would
                // have run in (a copy's source may be a running sequence's), computed afresh.
                choice = SlotChoice(slot: c.target, reuse: 0)
            }
            // Taking the slot moves its resident out of the cache's count, less what is reused.
            let freed = choice.map { kv.cellsFreed(by: $0) - $0.reuse } ?? 0
            let need = seq.tokens.count + 1 - (hit?.length ?? choice?.reuse ?? 0)
            // Serial prefill: beside decoding sequences, a step computes one prompt; prompts
            // almost wholly cached (a sibling choice, a repeat) still join at once.
            if config.serialPrefill, decoding, need > max(config.prefixBlockSize, 1),
               plan.items.contains(where: { !$0.sequence.isDecoding && $0.work.tokens.count > max(config.prefixBlockSize, 1) }) {
                if let hit, !alreadyBorrowed { kv.giveBack(hit.entry) }
                break
            }
            if free + freed - reserved < need {
                let before = kvFree
                makeRoom(kvFree + need - (free + freed - reserved), keeping: choice?.slot)
                free += kvFree - before
            }
            guard free + freed - reserved >= need, !kv.freeSlots.isEmpty, choice.map({ kvFree >= $0.reuse }) ?? true else {
                if let hit, !alreadyBorrowed { kv.giveBack(hit.entry) }
                break
            }
            if let choice {
                let resident = kv.cellsFreed(by: choice)
                let (reused, restored) = kv.take(choice)
                if restored { countHostHit(reused) }
                free += resident - reused
                admit(seq, slot: choice.target, now: now, hit: nil, reused: reused)
            } else {
                admit(seq, slot: kv.takeSlot()!, now: now, hit: hit)
            }
            let n = min(seq.remainingPrefill, budget)
            plan.items.append((seq, work(seq, count: n)))
            budget -= n
            free -= n
            reserved += need - n
        }
    }

    private func work(_ seq: SequenceState, count: Int) -> SequenceWork {
        let start = seq.computed
        let end = start + count
        let embed = seq.request.embedding
        return SequenceWork(slot: seq.slot!, startPosition: start, tokens: seq.tokens[start..<end],
                            sample: !embed && end == seq.tokens.count, logprobs: seq.request.logprobs, embed: embed,
                            adapter: seq.request.adapter)
    }

    /// The waiting request to admit next: the policy's choice (`WaitingQueue.next`), then
    /// cache-aware admission's (`WaitingQueue.preferCached`).
    /// - Parameter group: admit only this adapter's requests (nil: any); none at all while
    ///   the adapter limit holds admission back (`admissionHeld`).
    func nextWaiting(in group: Int? = nil) -> SequenceState? {
        if admissionHeld { return nil }
        return queue.next(shares: fairShare, adapter: group).map {
            queue.preferCached($0, reuse: kv.slotReuse, blockSize: config.prefixBlockSize)
        }
    }

    /// The lowest-priority, newest running sequence.
    func victimForPreemption() -> SequenceState? {
        running.max { $0.precedes($1, usePriority: queue.usesPriority) }
    }

    /// Ends cancelled requests and those past their queue deadline.
    private func reap(now: Double) {
        for seq in running where seq.cancelled { end(seq, .failed(.cancelled)) }
        for seq in waiting {
            if seq.cancelled {
                end(seq, .failed(.cancelled))
            } else if let timeout = seq.request.queueTimeout, seq.timing.firstScheduled == nil, now - seq.arrival > timeout {
                end(seq, .failed(.queueTimeout))
            }
        }
    }
}
