import Prometheus
import Scheduler
import Synchronization

/// The per-tenant series, labelled `tenant`. Tenant names come from the keys file, so the
/// series are bounded by it; each tenant's series are registered when it is first seen.
/// Token, outcome and preemption totals and the gauges are read from the scheduler's
/// snapshot at scrape time, as the global ones are; quota rejections are counted as they
/// happen.
public final class TenantMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let labels: [(String, String)]
    private let state = Mutex<State>(State())

    private struct State {
        var series: [String: Series] = [:]
        var seen: [String: SchedulerCounters] = [:]
        /// Outcome totals by tenant and endpoint already added to the counters.
        var seenEndpoints: [String: [String: SchedulerCounters]] = [:]
        var rejections: [String: [String: Int]] = [:]
    }

    private struct Series {
        let prompt, generation, preemptions: Counter
        let running, waiting: Gauge
        let quota: [String: Counter]
    }

    /// The limits a quota rejection can name.
    static let limits = ["max_concurrency", "tokens_per_minute"]

    init(registry: PrometheusCollectorRegistry, labels: [(String, String)]) {
        self.registry = registry
        self.labels = labels
    }

    private func series(_ tenant: String, in state: inout State) -> Series {
        if let s = state.series[tenant] { return s }
        let labels = labels + [("tenant", tenant)]
        func counter(_ name: String, _ help: String, _ extra: [(String, String)] = []) -> Counter {
            registry.makeCounter(descriptor: .exact(name, help), labels: labels + extra)
        }
        func gauge(_ name: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: .exact(name, help), labels: labels)
        }
        let s = Series(
            prompt: counter("tenant_prompt_tokens_total", "A tenant's prompt tokens, computed or taken from the prefix cache."),
            generation: counter("tenant_generation_tokens_total", "A tenant's generated tokens."),
            preemptions: counter("tenant_preemptions_total", "A tenant's running sequences preempted (KV space or priority)."),
            running: gauge("tenant_requests_running", "A tenant's requests (choices) in the running batch."),
            waiting: gauge("tenant_requests_waiting", "A tenant's requests (choices) waiting."),
            quota: Dictionary(uniqueKeysWithValues: Self.limits.map {
                ($0, counter("tenant_quota_rejections_total", "A tenant's requests refused by a quota, by limit.", [("limit", $0)]))
            }))
        state.series[tenant] = s
        return s
    }

    /// `tenant_requests_total` for one tenant, outcome (`succeeded`, `failed`, `rejected`)
    /// and endpoint; the registry keeps one counter per label set.
    private func outcome(_ tenant: String, _ outcome: String, _ endpoint: String) -> Counter {
        registry.makeCounter(
            descriptor: .exact("tenant_requests_total", "A tenant's requests (choices) by outcome (succeeded, failed, or rejected by its quota) and endpoint."),
            labels: labels + [("tenant", tenant), ("outcome", outcome), ("endpoint", ServingMetrics.endpoint(endpoint))])
    }

    /// Counts a request to `endpoint` refused by `limit` (`max_concurrency` or `tokens_per_minute`).
    func rejected(_ tenant: String, limit: String, endpoint: String) {
        state.withLock { state in
            let s = series(tenant, in: &state)
            outcome(tenant, "rejected", endpoint).increment()
            s.quota[limit]?.increment()
            state.rejections[tenant, default: [:]][limit, default: 0] += 1
        }
    }

    /// Each tenant's quota rejections so far, by limit.
    public var rejections: [String: [String: Int]] { state.withLock { $0.rejections } }

    /// Brings the series up to `tenants` (the scheduler's snapshot).
    func update(_ tenants: [String: TenantSnapshot], active: Bool) {
        state.withLock { state in
            for (name, now) in tenants {
                let s = series(name, in: &state)
                s.running.set(Double(now.running))
                s.waiting.set(Double(now.waiting))
                guard active else { continue }
                let before = state.seen[name] ?? SchedulerCounters()
                state.seen[name] = now.counters
                for (counter, delta) in [(s.prompt, now.counters.promptTokens - before.promptTokens),
                                         (s.generation, now.counters.generationTokens - before.generationTokens),
                                         (s.preemptions, now.counters.preemptions - before.preemptions)] where delta > 0 {
                    counter.increment(by: Int64(delta))
                }
                for (endpoint, counts) in now.endpoints {
                    let was = state.seenEndpoints[name]?[endpoint] ?? SchedulerCounters()
                    state.seenEndpoints[name, default: [:]][endpoint] = counts
                    if counts.succeeded > was.succeeded {
                        outcome(name, "succeeded", endpoint).increment(by: Int64(counts.succeeded - was.succeeded))
                    }
                    if counts.failed > was.failed { outcome(name, "failed", endpoint).increment(by: Int64(counts.failed - was.failed)) }
                }
            }
        }
    }

    /// Starts counting from `baseline` (after warm-up, whose tokens are the default tenant's).
    func setBaseline(_ tenants: [String: TenantSnapshot]?) {
        state.withLock {
            $0.seen = tenants?.mapValues(\.counters) ?? [:]
            $0.seenEndpoints = tenants?.mapValues(\.endpoints) ?? [:]
        }
    }
}
