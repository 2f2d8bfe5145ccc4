/// One tenant now: its queue and batch, and its totals.
public struct TenantSnapshot: Sendable, Equatable {
    /// Its sequences in the running batch.
    public var running = 0
    /// Its requests waiting.
    public var waiting = 0
    /// Totals.
    public var counters = SchedulerCounters()
    /// Request outcomes and preemptions by `GenerationRequest.endpoint`.
    public var endpoints: [String: SchedulerCounters] = [:]

    /// An idle tenant with nothing counted.
    public init() {}
}

/// The scheduler's book on one tenant: its virtual time for fair share, and its totals.
/// Each of the tenant's sequences holds it, so the per-token counts reach it without a
/// lookup by name.
///
/// Virtual time is the tokens served to the tenant (prompt chunks and generated tokens,
/// each divided by its requests' weight): weighted fair queuing on tokens. Admission picks
/// the tenant whose virtual time is lowest, so over a busy period each tenant's tokens track
/// its weight. A tenant that was idle comes back at the lowest virtual time among the busy
/// ones, not at its old one, so idling banks no credit.
final class TenantLedger {
    var virtualTime = 0.0
    var counters = SchedulerCounters()
    /// Outcomes by endpoint: as many entries as the routes callers send from.
    var endpoints: [String: SchedulerCounters] = [:]
}
