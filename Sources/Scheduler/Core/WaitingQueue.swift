/// The requests waiting for a slot, and which of them to admit next (vLLM's
/// `request_queue`). One ordering per policy:
/// - `fcfs`: arrival order; the head goes next.
/// - `priority`: lower `priority` first, then arrival; the head goes next.
/// - `fair`: kept as `priority`; among the head's priority class, the oldest request of
///   the tenant first in fair-share order (`FairShare.key`) goes next.
///
/// The planner asks it and never reorders the array itself, so the order is decided in
/// one place; a preempted sequence keeps its arrival and so goes back near the front.
final class WaitingQueue {
    /// The policy whose ordering applies.
    let policy: SchedulerConfig.Policy
    /// Waiting sequences, in priority (unless `fcfs`) then arrival order.
    private(set) var sequences: [SequenceState] = []
    /// Tokens of every waiting sequence (the queue's token bound counts these).
    private(set) var tokens = 0

    /// Creates an empty queue ordered for `policy`.
    init(policy: SchedulerConfig.Policy) {
        self.policy = policy
    }

    /// Whether the order (and preemption's choice of victim) looks at `priority`.
    var usesPriority: Bool { policy != .fcfs }
    var count: Int { sequences.count }
    var isEmpty: Bool { sequences.isEmpty }

    /// Puts `seq` in its place: before the first sequence it precedes.
    func insert(_ seq: SequenceState) {
        let at = sequences.firstIndex { seq.precedes($0, usePriority: usesPriority) } ?? sequences.endIndex
        sequences.insert(seq, at: at)
        tokens += seq.tokens.count
    }

    /// Takes `seq` out (admitted or ended).
    func remove(_ seq: SequenceState) {
        sequences.removeAll { $0 === seq }
        tokens -= seq.tokens.count
    }

    /// The request the policy admits next, before cache-aware admission has its say.
    /// Priority classes are global (the operator sets a tenant's priority in the keys
    /// file); within a class, `fair` lets tenants share by weight.
    /// - Parameters:
    ///   - shares: the busy tenants' parts of the slots (read by `fair` only).
    ///   - adapter: consider only requests of this LoRA adapter (a step serves one); nil
    ///     for all.
    func next(shares: @autoclosure () -> FairShare, adapter: Int? = nil) -> SequenceState? {
        guard let index = sequences.firstIndex(where: { $0.isIn(adapter) }) else { return nil }
        let head = sequences[index]
        switch policy {
        case .fcfs, .priority:
            return head  // the array is kept in this order
        case .fair:
            let shares = shares()
            var chosen = head
            var lowest = shares.key(for: head)
            // The queue is in priority, then arrival, order: the first of each tenant is its oldest.
            for seq in sequences[(index + 1)...] where seq.isIn(adapter) {
                guard seq.request.priority == head.request.priority else { break }
                let key = shares.key(for: seq)
                if key < lowest {
                    chosen = seq
                    lowest = key
                }
            }
            return chosen
        }
    }

    /// Cache-aware admission, where it costs nobody: when a request of the same tenant and
    /// priority a little behind `chosen` finds far more of its prompt in a free slot (four
    /// blocks more), it goes first. Both are the same tenant's, so fair share is untouched,
    /// and `chosen` is passed over at most `maxBypass` times (bounded waiting).
    /// - Parameters:
    ///   - reuse: the tokens a sequence would reuse from a free slot; nil when no slot
    ///     could be reused now (no slot cache, or no free slot).
    ///   - blockSize: the prefix block size, the unit of "far more".
    func preferCached(_ chosen: SequenceState, reuse: ((SequenceState) -> Int)?, blockSize: Int) -> SequenceState {
        guard let reuse, chosen.bypassed < Self.maxBypass, sequences.count > 1 else { return chosen }
        let bar = reuse(chosen) + 4 * max(blockSize, 1)
        let rival = sequences.prefix(Self.lookahead).first {
            $0 !== chosen && $0.request.priority == chosen.request.priority && $0.request.tenant == chosen.request.tenant
                && $0.request.adapter == chosen.request.adapter && $0.forks.leader == nil && chosen.forks.followers.isEmpty && reuse($0) >= bar
        }
        guard let rival else { return chosen }
        chosen.bypassed += 1
        return rival
    }

    /// Most times one waiting request is passed over for a cached one.
    static let maxBypass = 4
    /// How far down the queue cache-aware admission looks.
    static let lookahead = 16
}
