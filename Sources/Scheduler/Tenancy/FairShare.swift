/// Each busy tenant's weighted part of the running slots, and what it runs now: the
/// numbers the `fair` policy orders admission, prompt chunks and preemption by.
struct FairShare {
    /// Running sequences by tenant.
    var running: [String: Int] = [:]
    private var weights: [String: Double] = [:]
    private var total = 0.0
    private let slotCount: Int

    /// Shares over the tenants with a sequence running or waiting.
    /// - Parameter slotCount: the running slots to share (`maxRunningSequences`).
    init(running: [SequenceState], waiting: [SequenceState], slotCount: Int) {
        self.slotCount = slotCount
        for seq in running + waiting { weights[seq.request.tenant] = max(seq.request.tenantWeight, 1e-3) }
        for seq in running { self.running[seq.request.tenant, default: 0] += 1 }
        total = weights.values.reduce(0, +)
    }

    /// `tenant`'s part of the slots: its weight over the busy tenants' weights.
    func slots(_ tenant: String) -> Double {
        total > 0 ? Double(slotCount) * (weights[tenant] ?? 0) / total : Double(slotCount)
    }

    /// Fair-share order: tenants with room left in their weighted part of the slots first
    /// (admitting one over its part would only lead to a preemption), then the lowest
    /// virtual time, then (for a tenant just back from idle, which shares the busy tenants'
    /// lowest time) the fewest running sequences per unit of weight.
    func key(for seq: SequenceState) -> (Double, Double, Double) {
        let tenant = seq.request.tenant
        let running = Double(running[tenant] ?? 0)
        return (running + 1 > slots(tenant) ? 1 : 0, seq.ledger.virtualTime,
                running / max(seq.request.tenantWeight, 1e-3))
    }
}
