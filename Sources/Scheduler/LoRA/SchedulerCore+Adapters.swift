import CorralCore

extension SchedulerCore {
    /// The groups to try planning a step for, in turn (`AdapterGroups`): `[nil]` when no
    /// adapter is in play or the executor mixes adapters in a step (one group, nothing
    /// filtered; `admissionHeld` still keeps to `maxLoras`). Otherwise every adapter with a
    /// running sequence, and every adapter with a waiting one that may start: one already
    /// running, the base, or a new one while fewer than `maxLoras` adapters run. When the
    /// request the policy admits next is held back by that limit, no other adapter's
    /// request starts either (`admissionHeld`), so the running adapters drain and it gets
    /// its turn: its wait is bounded by their running requests.
    func groupOrder() -> [Int?] {
        guard adapters.inPlay, !executor.mixesAdapters else { return [nil] }
        var seen = Set<Int>()
        var candidates: [Int] = []
        for seq in running where seen.insert(seq.request.adapter).inserted {
            candidates.append(seq.request.adapter)
        }
        if !admissionHeld {
            let runningAdapters = seen.subtracting([0]).count
            for seq in waiting where !seen.contains(seq.request.adapter) {
                let adapter = seq.request.adapter
                guard adapter == 0 || runningAdapters < config.maxLoras else { continue }
                seen.insert(adapter)
                candidates.append(adapter)
            }
        }
        return adapters.order(candidates)
    }

    /// Whether the request the policy admits next runs under an adapter that may not start
    /// now (`maxLoras` adapters already run): then nothing else is admitted before it.
    var admissionHeld: Bool {
        guard adapters.inPlay, let head = queue.next(shares: fairShare) else { return false }
        let adapter = head.request.adapter
        guard adapter != 0, !running.contains(where: { $0.request.adapter == adapter }) else { return false }
        return Set(running.map(\.request.adapter)).subtracting([0]).count >= config.maxLoras
    }

    /// Frees the retired adapters that no sequence uses any more (called between steps, on
    /// the engine thread).
    func unloadRetiredAdapters() {
        for id in retiring where !adapters.isLive(id) {
            executor.unloadAdapter(id)
            retiring.remove(id)
        }
    }

    /// Adapters with running sequences and those with waiting ones, for
    /// `vllm:lora_requests_info`.
    var adapterSnapshot: SchedulerSnapshot.Adapters {
        SchedulerSnapshot.Adapters(running: Set(running.map(\.request.adapter)).subtracting([0]),
                                   waiting: Set(waiting.map(\.request.adapter)).subtracting([0]),
                                   switches: adapters.switches)
    }
}
