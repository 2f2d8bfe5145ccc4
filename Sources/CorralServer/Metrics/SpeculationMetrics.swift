import Prometheus
import Scheduler
import Synchronization

/// Speculative decoding's counters, under Corral's names and vLLM's (`vllm:spec_decode_*`,
/// which vLLM's dashboards read): drafts verified, draft tokens verified and accepted, and
/// acceptances by draft position. The acceptance rate is accepted ÷ draft tokens; the mean
/// accepted length is 1 + accepted ÷ drafts. Read from the scheduler's totals at scrape
/// time, as the other totals are.
final class SpeculationMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let labels: [(String, String)]
    /// Both names of each total.
    private let drafts, draftTokens, accepted: [Counter]
    /// Both names of each position's acceptances, registered as positions first appear;
    /// at most `NIM_SPECULATIVE_NUM_TOKENS` (64 at most) of them.
    private let perPosition = Mutex<[[Counter]]>([])

    init(registry: PrometheusCollectorRegistry, labels: [(String, String)]) {
        self.registry = registry
        self.labels = labels
        func counters(_ name: String, _ help: String) -> [Counter] {
            [registry.makeCounter(descriptor: .exact(name + "_total", help), labels: labels),
             registry.makeCounter(descriptor: .exact("vllm:" + name + "_total", "Alias of \(name)_total, for vLLM dashboards."),
                                  labels: labels)]
        }
        drafts = counters("spec_decode_num_drafts", "Speculative drafts verified (one per sequence per step that carried one).")
        draftTokens = counters("spec_decode_num_draft_tokens", "Draft tokens verified.")
        accepted = counters("spec_decode_num_accepted_tokens", "Draft tokens accepted (each one a token generated without a step of its own).")
    }

    /// Adds the growth of the speculation totals between two snapshots of the counters.
    func add(_ now: SchedulerCounters, since before: SchedulerCounters) {
        for (pair, delta) in [(drafts, now.specDrafts - before.specDrafts),
                              (draftTokens, now.specDraftTokens - before.specDraftTokens),
                              (accepted, now.specAcceptedTokens - before.specAcceptedTokens)] where delta > 0 {
            for counter in pair { counter.increment(by: Int64(delta)) }
        }
        let positions = now.specAcceptedPerPosition
        guard !positions.isEmpty else { return }
        perPosition.withLock { series in
            while series.count < positions.count { series.append(register(position: series.count)) }
            for (i, count) in positions.enumerated() {
                let delta = count - (i < before.specAcceptedPerPosition.count ? before.specAcceptedPerPosition[i] : 0)
                if delta > 0 { for counter in series[i] { counter.increment(by: Int64(delta)) } }
            }
        }
    }

    private func register(position: Int) -> [Counter] {
        let help = "Drafts whose token at this position (0 first) was accepted."
        let labels = labels + [("position", "\(position)")]
        return [registry.makeCounter(descriptor: .exact("spec_decode_num_accepted_tokens_per_pos_total", help), labels: labels),
                registry.makeCounter(descriptor: .exact("vllm:spec_decode_num_accepted_tokens_per_pos_total",
                                                        "Alias of spec_decode_num_accepted_tokens_per_pos_total, for vLLM dashboards."),
                                     labels: labels)]
    }
}
