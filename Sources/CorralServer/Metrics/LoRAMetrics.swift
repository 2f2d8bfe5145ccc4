import Foundation
import Prometheus
import Synchronization

/// LoRA adapters' series, when adapters are served:
/// - `vllm:lora_requests_info`, the gauge the Gateway API Inference Extension's model
///   server protocol reads: labels `max_lora` (adapters that may run at once),
///   `running_lora_adapters` and `waiting_lora_adapters` (comma-separated names), and the
///   scrape time as its value, as vLLM sets it. One series: a change of labels replaces it.
/// - `lora_requests_total{lora_name}`: requests (choices) accepted for each loaded adapter;
///   an adapter's series goes when the adapter is removed, so the count stays bounded by
///   `NIM_MAX_CPU_LORAS`.
final class LoRAMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let labels: [(String, String)]
    private let maxLoras: Int
    private let state = Mutex<State>(State())

    private struct State {
        var info: (key: [String], gauge: Gauge)?
        var requests: [String: Counter] = [:]
    }

    init(registry: PrometheusCollectorRegistry, labels: [(String, String)], maxLoras: Int) {
        self.registry = registry
        self.labels = labels
        self.maxLoras = maxLoras
    }

    /// Counts `count` requests accepted for adapter `name`.
    func requested(_ name: String, count: Int) {
        let counter = state.withLock { s in
            if let c = s.requests[name] { return c }
            let c = registry.makeCounter(
                descriptor: .exact("lora_requests_total", "Requests (choices) accepted for each LoRA adapter, by lora_name."),
                labels: labels + [("lora_name", name)])
            s.requests[name] = c
            return c
        }
        counter.increment(by: Int64(count))
    }

    /// Sets the info gauge from the adapters with running and waiting requests, and drops
    /// the request series of adapters no longer loaded.
    func update(running: [String], waiting: [String], loaded: Set<String>) {
        let key = [running.sorted().joined(separator: ","), waiting.sorted().joined(separator: ",")]
        state.withLock { s in
            if s.info?.key != key {
                if let old = s.info?.gauge { registry.unregisterGauge(old) }
                let gauge = registry.makeGauge(
                    descriptor: .exact("vllm:lora_requests_info",
                                       "LoRA adapters with running and waiting requests (labels), and the time of this reading (value)."),
                    labels: labels + [("max_lora", "\(maxLoras)"), ("running_lora_adapters", key[0]),
                                      ("waiting_lora_adapters", key[1])])
                s.info = (key, gauge)
            }
            s.info?.gauge.set(Date().timeIntervalSince1970)
            for (name, counter) in s.requests where !loaded.contains(name) {
                registry.unregisterCounter(counter)
                s.requests[name] = nil
            }
        }
    }
}
