/// Which LoRA adapter the next step serves, and what each adapter has in the scheduler.
///
/// An engine pass applies one adapter set to every token it computes (llama.cpp's
/// `llama_set_adapters_lora` is per context), so while adapters are in play each step
/// serves one group: the base model's sequences, or one adapter's. Groups take turns of up
/// to `turnSteps` steps, the one served longest ago first, so every group with work gets a
/// turn in every `groups` turns whatever its size: no adapter starves, and a running
/// sequence waits at most `(groups - 1) × turnSteps` steps between two bursts of tokens. A
/// group's share of the steps is equal, not proportional to its sequences, so a lone
/// request of a rare adapter sees the same latency as a busy adapter's.
///
/// A turn lasts several steps because a switch is not free: llama.cpp re-plans its compute
/// graph (`sched_reserve`) on the first pass after the adapter set changes. That measured
/// about 1 ms on a 2-core CPU (`make bench-lora`); turns keep switches to a quarter of the
/// steps or fewer where re-planning costs more.
///
/// With no adapter in play every sequence is the base model's and the planner skips all of
/// this (`inPlay` is false).
struct AdapterGroups {
    /// Live sequences (waiting or running) per adapter other than the base (0).
    private(set) var live: [Int: Int] = [:]
    /// The step at which each group was last served; only live groups (and the base) keep
    /// an entry, so the map is bounded by the adapters loaded.
    private var lastServed: [Int: UInt64] = [:]
    /// Steps served so far.
    private(set) var steps: UInt64 = 0
    /// Steps whose group differed from the step before (an adapter switch in the engine).
    private(set) var switches = 0
    private var previous: Int?
    /// Steps the current turn has had.
    private var turn = 0
    /// Steps a group keeps the engine while it has work, before the next group's turn.
    static let turnSteps = 4

    /// Whether any live sequence runs under an adapter.
    var inPlay: Bool { !live.isEmpty }

    /// Counts a new sequence of `adapter`.
    mutating func arrived(_ adapter: Int) {
        if adapter != 0 { live[adapter, default: 0] += 1 }
    }

    /// Counts a sequence of `adapter` gone (finished or failed).
    mutating func left(_ adapter: Int) {
        guard adapter != 0, let n = live[adapter] else { return }
        if n > 1 {
            live[adapter] = n - 1
        } else {
            live[adapter] = nil
            lastServed[adapter] = nil
        }
    }

    /// Whether a sequence of `adapter` is waiting or running.
    func isLive(_ adapter: Int) -> Bool { adapter == 0 || live[adapter] != nil }

    /// `candidates` (each group once, in the order of its oldest sequence) in the order to
    /// try them: the group served longest ago first, ties in the given order.
    /// The group whose turn is not over goes first.
    func order(_ candidates: [Int]) -> [Int] {
        let sorted = candidates.enumerated().sorted { a, b in
            (lastServed[a.element] ?? 0, a.offset) < (lastServed[b.element] ?? 0, b.offset)
        }.map(\.element)
        guard let previous, turn < Self.turnSteps, sorted.contains(previous) else { return sorted }
        return [previous] + sorted.filter { $0 != previous }
    }

    /// Records that the step about to run serves `adapter`'s group.
    mutating func served(_ adapter: Int) {
        steps += 1
        lastServed[adapter] = steps
        if let previous, previous != adapter { switches += 1 }
        turn = previous == adapter ? turn + 1 : 1
        previous = adapter
    }
}
