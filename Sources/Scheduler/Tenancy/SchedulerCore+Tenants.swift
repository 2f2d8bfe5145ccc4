import CorralCore

extension SchedulerCore {
    /// The busy tenants' parts of the slots now.
    var fairShare: FairShare {
        FairShare(running: running, waiting: waiting, slotCount: config.maxRunningSequences)
    }

    /// A tenant's ledger, made empty on its first request.
    func ledger(for tenant: String) -> TenantLedger {
        if let ledger = tenants[tenant] { return ledger }
        let ledger = TenantLedger()
        tenants[tenant] = ledger
        return ledger
    }

    /// A request of `tenant` arrives: an idle tenant restarts at the busy tenants' lowest
    /// virtual time, so time spent idle is not a credit to spend in a burst.
    func noteArrival(of ledger: TenantLedger) {
        guard config.policy == .fair, !(running + waiting).contains(where: { $0.ledger === ledger }) else { return }
        guard let floor = (running + waiting).map(\.ledger.virtualTime).min() else { return }
        ledger.virtualTime = max(ledger.virtualTime, floor)
    }

    /// Charges the tokens `seq` has computed past its high-water mark to its tenant, at its
    /// weight. Recomputing after a preemption is not charged again: the preemption was
    /// made for someone else's sake, and charging it would push the victim's tenant further
    /// behind its share.
    func charge(_ seq: SequenceState) {
        let new = seq.computed - seq.chargedThrough
        guard new > 0 else { return }
        seq.chargedThrough = seq.computed
        seq.ledger.virtualTime += Double(new) / max(seq.request.tenantWeight, 1e-3)
    }

    /// Each tenant's queue, batch and totals.
    var tenantSnapshots: [String: TenantSnapshot] {
        var out = tenants.mapValues { ledger -> TenantSnapshot in
            var s = TenantSnapshot()
            s.counters = ledger.counters
            s.endpoints = ledger.endpoints
            return s
        }
        for seq in running { out[seq.request.tenant, default: TenantSnapshot()].running += 1 }
        for seq in waiting { out[seq.request.tenant, default: TenantSnapshot()].waiting += 1 }
        return out
    }

    /// Makes room for the next request to admit when there is no slot or KV for it, by
    /// preempting (by recompute: the victim keeps every token) one running sequence at a
    /// time:
    /// - priority: the lowest-priority, newest sequence of strictly lower priority;
    /// - fair share (`fair` only): when the request's tenant runs fewer sequences than its
    ///   weighted share of the slots, the newest sequence of the tenant furthest over its
    ///   share, if that tenant stays at or over its share without it.
    ///
    /// A sequence preempted this way is not preempted this way again before it has
    /// generated another token, so two tenants or two classes cannot thrash.
    func preemptForRoom() {
        guard config.policy != .fcfs else { return }
        while let candidate = nextWaiting(), candidate.forks.leader == nil {
            let need = candidate.tokens.count + 1
            makeRoom(need)
            let slotFree = running.count < config.maxRunningSequences && !kv.freeSlots.isEmpty
            if slotFree && kvFree - reservedForPrefill >= need { return }
            let movable = running.filter { seq in seq.displacedAt.map { seq.generatedCount > $0 } ?? true }
            let byPriority = movable.filter { $0.request.priority > candidate.request.priority }
            if let victim = byPriority.max(by: { $0.precedes($1, usePriority: true) }) {
                tally(\.priorityPreemptions, for: victim)
                displace(victim)
            } else if config.policy == .fair, let victim = fairShareVictim(for: candidate, among: movable) {
                displace(victim)
            } else {
                return
            }
        }
    }

    private func displace(_ victim: SequenceState) {
        victim.displacedAt = victim.generatedCount
        preempt(victim)
    }

    /// The sequence to preempt so `candidate`'s tenant gets its weighted share of the slots.
    private func fairShareVictim(for candidate: SequenceState, among movable: [SequenceState]) -> SequenceState? {
        let shares = fairShare
        let runningBy = shares.running
        let share = shares.slots
        let tenant = candidate.request.tenant
        guard Double(runningBy[tenant] ?? 0) + 1 <= share(tenant) else { return nil }
        let over = movable.filter { seq in
            let t = seq.request.tenant
            return t != tenant && seq.request.priority >= candidate.request.priority
                && Double(runningBy[t] ?? 0) - 1 >= share(t)
        }
        let excess = { (seq: SequenceState) in Double(runningBy[seq.request.tenant] ?? 0) - share(seq.request.tenant) }
        return over.max { (excess($0), $0.arrival, $0.id) < (excess($1), $1.arrival, $1.id) }
    }

    /// Cells that running prefills still need.
    var reservedForPrefill: Int {
        running.filter { !$0.isDecoding }.reduce(0) { $0 + $1.remainingPrefill + 1 }
    }
}
