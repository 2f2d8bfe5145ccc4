import Foundation
public import Prometheus
import CorralCore
public import Scheduler
import Synchronization

/// Every metric Corral exports, registered on one swift-prometheus registry with help text
/// and the label `model_name`. Names follow NIM (`num_requests_running`, …), with vLLM
/// aliases for the gauges that gateways and autoscalers read.
///
/// Gauges and scheduler totals are read from the scheduler's snapshot at scrape time, so
/// they are exact whenever Prometheus looks. Per-request histograms come from the
/// scheduler's observer hooks, and HTTP figures from `HTTPMetricsMiddleware`.
public final class ServingMetrics: SchedulerObserver, Sendable {
    /// The registry the exposition is rendered from.
    public let registry: PrometheusCollectorRegistry
    /// The `model_name` label's value.
    public let modelName: String

    let running, waiting, requestMax, kvUsage: Gauge
    let vllmRunning, vllmWaiting, vllmKVUsage, hostCacheBytes: Gauge
    let promptTokens, generationTokens, preemptions, prefixHits, prefixQueries, slotMoves: Counter
    let vllmPrefixHits, vllmPrefixQueries, prefixHostHits: Counter
    /// The labels every series carries (`model_name`).
    let labels: [(String, String)]
    let timeToFirstToken, timePerOutputToken, endToEnd, queueTime: ValueHistogram
    let requestPromptTokens, requestGenerationTokens: ValueHistogram
    let stepDuration, stepTokens, stepSequences: ValueHistogram
    /// Cumulative step seconds by phase, for where a step's time goes.
    let stepPhase: (engine: Counter, sampling: Counter, scheduler: Counter, host: Counter)
    let process: ProcessMetrics
    /// HTTP requests by route, method and status, created on first use.
    let http: HTTPMetrics
    /// The per-tenant series.
    public let tenants: TenantMetrics
    /// Speculative decoding's totals.
    let speculation: SpeculationMetrics
    /// LoRA adapters' series.
    let lora: LoRAMetrics

    /// Scheduler totals already added to the counters, and whether warm-up is over.
    private let seen: Mutex<(counters: SchedulerCounters?, active: Bool)>

    /// Why a request failed, as the `reason` label of `request_failure_total`.
    public enum FailureReason: String, Sendable, CaseIterable {
        /// The client went away.
        case cancelled
        /// The engine failed, or the server shut down under it.
        case error
        /// Refused because the queue was full (429).
        case overload
        /// Waited in the queue past its deadline.
        case timeout
        /// Refused as invalid (400, 404 for an unknown model).
        case badRequest = "bad_request"
    }

    /// Registers every metric.
    /// - Parameters:
    ///   - modelName: the served model name, on every metric.
    ///   - maxRequests: the running-sequence cap, exported as `num_request_max`.
    ///   - buckets: latency histogram bounds.
    ///   - maxBatchTokens: the step token budget, the top bucket of `iteration_tokens`.
    ///   - active: false to ignore the scheduler until `activate(baseline:)` (warm-up).
    ///   - maxLoras: adapters that may run at once, `max_lora` of `vllm:lora_requests_info`.
    public init(modelName: String, maxRequests: Int, maxBatchTokens: Int = 512,
                buckets: MetricBuckets = .default, active: Bool = true, maxLoras: Int = ServeDefaults.maxGPULoras,
                registry: PrometheusCollectorRegistry = .init()) {
        self.registry = registry
        seen = Mutex((nil, active))
        self.modelName = modelName
        let labels = [("model_name", modelName)]
        self.labels = labels
        func gauge(_ name: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: .exact(name, help), labels: labels)
        }
        func counter(_ name: String, _ help: String, _ extra: [(String, String)] = []) -> Counter {
            registry.makeCounter(descriptor: .exact(name, help), labels: labels + extra)
        }
        func histogram(_ name: String, _ bounds: [Double], _ help: String) -> ValueHistogram {
            registry.makeValueHistogram(descriptor: .exact(name, help), labels: labels, buckets: bounds)
        }
        running = gauge("num_requests_running", "Requests (choices) in the running batch.")
        waiting = gauge("num_requests_waiting", "Requests (choices) waiting to be scheduled.")
        requestMax = gauge("num_request_max", "Most requests that run at once (max running sequences).")
        kvUsage = gauge("gpu_cache_usage_perc", "KV cache usage as a fraction, 0 to 1 (on CPU too).")
        vllmRunning = gauge("vllm:num_requests_running", "Alias of num_requests_running, for vLLM dashboards and gateways.")
        vllmWaiting = gauge("vllm:num_requests_waiting", "Alias of num_requests_waiting, for vLLM dashboards and gateways.")
        vllmKVUsage = gauge("vllm:kv_cache_usage_perc", "Alias of gpu_cache_usage_perc, for vLLM dashboards and gateways.")
        promptTokens = counter("prompt_tokens_total", "Prompt tokens computed (prefill); recomputation after preemption counts again.")
        generationTokens = counter("generation_tokens_total", "Tokens generated.")
        preemptions = counter("num_preemptions_total", "Running sequences preempted (recomputed later) for KV space.")
        prefixHits = counter("prefix_cache_hits_total", "Prompt tokens found in the prefix cache.")
        slotMoves = counter("slot_moves_total",
                            "Running sequences moved to another slot (one KV partition copy each) so a step stays one engine pass (with LoRA adapters, one per adapter group).")
        prefixQueries = counter("prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache.")
        vllmPrefixHits = counter("vllm:prefix_cache_hits_total", "Alias of prefix_cache_hits_total, for vLLM dashboards.")
        vllmPrefixQueries = counter("vllm:prefix_cache_queries_total", "Alias of prefix_cache_queries_total, for vLLM dashboards.")
        prefixHostHits = counter("prefix_cache_host_hits_total",
                                 "Prompt tokens restored from the prefix cache's host-RAM tier (part of prefix_cache_hits_total).")
        hostCacheBytes = gauge("prefix_cache_host_bytes", "Bytes of saved KV held in the prefix cache's host-RAM tier.")
        timeToFirstToken = histogram("time_to_first_token_seconds", buckets.timeToFirstToken,
                                     "Seconds from arrival to the first generated token.")
        timePerOutputToken = histogram("time_per_output_token_seconds", buckets.interTokenLatency,
                                       "Mean seconds between generated tokens after the first, per request.")
        endToEnd = histogram("e2e_request_latency_seconds", buckets.endToEnd, "Seconds from arrival to the last token.")
        queueTime = histogram("request_queue_time_seconds", buckets.timeToFirstToken,
                              "Seconds a request waited before it was first scheduled.")
        requestPromptTokens = histogram("request_prompt_tokens", MetricBuckets.tokenCounts, "Prompt tokens per request.")
        requestGenerationTokens = histogram("request_generation_tokens", MetricBuckets.tokenCounts,
                                            "Generated tokens per request.")
        stepDuration = histogram("iteration_duration_seconds", buckets.interTokenLatency,
                                 "Seconds per scheduler step (one engine batch).")
        stepTokens = histogram("iteration_tokens", MetricBuckets.powersOfTwo(upTo: max(maxBatchTokens, 1)),
                               "Tokens fed to the engine per step, prefill and decode.")
        stepSequences = histogram("iteration_running_sequences", MetricBuckets.powersOfTwo(upTo: max(maxRequests, 1)),
                                  "Sequences in the batch per step.")
        let phaseHelp = "Seconds of scheduler steps by phase: engine compute, sampling (logits to tokens), scheduler (plan and commit); host is all the engine thread's time outside the engine's own call."
        stepPhase = (counter("iteration_phase_seconds_total", phaseHelp, [("phase", "engine")]),
                     counter("iteration_phase_seconds_total", phaseHelp, [("phase", "sampling")]),
                     counter("iteration_phase_seconds_total", phaseHelp, [("phase", "scheduler")]),
                     counter("iteration_phase_seconds_total", phaseHelp, [("phase", "host")]))
        process = ProcessMetrics(registry: registry, labels: labels)
        http = HTTPMetrics(registry: registry, labels: labels, buckets: buckets.endToEnd)
        tenants = TenantMetrics(registry: registry, labels: labels)
        speculation = SpeculationMetrics(registry: registry, labels: labels)
        lora = LoRAMetrics(registry: registry, labels: labels, maxLoras: maxLoras)
        requestMax.set(Double(maxRequests))
        // Every route's outcome series exist from the start, at 0.
        for endpoint in RequestEndpoint.allCases {
            for reason in [FinishReason.stop, .length] { _ = success(reason, endpoint.rawValue) }
            for reason in FailureReason.allCases { _ = failure(reason, endpoint.rawValue) }
        }
    }

    /// `request_success_total` for one finish reason and endpoint (the registry keeps one
    /// counter per label set).
    func success(_ reason: FinishReason, _ endpoint: String) -> Counter {
        registry.makeCounter(descriptor: .exact("request_success_total", "Requests (choices) that finished, by reason and endpoint."),
                             labels: labels + [("finished_reason", reason.rawValue), ("endpoint", Self.endpoint(endpoint))])
    }

    /// `request_failure_total` for one reason and endpoint.
    func failure(_ reason: FailureReason, _ endpoint: String) -> Counter {
        registry.makeCounter(descriptor: .exact("request_failure_total", "Requests that ended with an error, by reason and endpoint."),
                             labels: labels + [("reason", reason.rawValue), ("endpoint", Self.endpoint(endpoint))])
    }

    /// The label for a request's endpoint: `other` for a caller that named none.
    static func endpoint(_ name: String) -> String { name.isEmpty ? "other" : name }

    /// Metrics for the server `config` describes.
    public convenience init(config: ServerConfig, active: Bool = true) {
        // Sizes the engine chooses are not known before it loads: the buckets reach the
        // largest default, and `activate` sets the gauge to the size chosen.
        self.init(modelName: config.servedName, maxRequests: config.maxRunningSequences ?? ServeDefaults.maxNumSeqsGPU,
                  maxBatchTokens: config.maxBatchTokens ?? ServeDefaults.maxBatchTokensGPU, buckets: config.metricsBuckets,
                  active: active, maxLoras: config.lora.maxActive)
    }

    /// Starts counting: called after warm-up, so its generation never shows up.
    /// - Parameter maxRequests: the running-sequence cap the engine was sized to.
    /// - Parameter cache: the engine's KV cache, for `vllm:cache_config_info` (set once).
    public func activate(baseline: SchedulerSnapshot?, maxRequests: Int? = nil, cache: (config: SchedulerConfig, kvCells: Int, bytesPerToken: Int, gpuMemoryUtilization: Double)? = nil) {
        if let maxRequests { requestMax.set(Double(maxRequests)) }
        if let cache {
            let block = max(cache.config.prefixBlockSize, 1)
            CacheConfigMetric.register(.init(blockSize: block, gpuBlocks: cache.kvCells / block,
                                             cpuBlocks: cache.config.hostCacheBytes / max(block * cache.bytesPerToken, 1),
                                             prefixCaching: cache.config.prefixCaching,
                                             gpuMemoryUtilization: cache.gpuMemoryUtilization),
                                       labels: labels, in: registry)
        }
        seen.withLock { $0 = (baseline?.counters, true) }
        tenants.setBaseline(baseline?.tenants)
    }

    private var isActive: Bool { seen.withLock { $0.active } }

    /// Counts a request refused before it reached the scheduler (bad input, overload, not ready).
    public func refused(_ reason: FailureReason, endpoint: String) {
        failure(reason, endpoint).increment()
    }

    /// Updates the gauges and the scheduler totals from `snapshot` (nil before the model is
    /// loaded) and renders the exposition.
    public func exposition(_ snapshot: SchedulerSnapshot?) -> String {
        let gauges: [(Gauge, Double)] = [
            (running, Double(snapshot?.running ?? 0)), (vllmRunning, Double(snapshot?.running ?? 0)),
            (waiting, Double(snapshot?.waiting ?? 0)), (vllmWaiting, Double(snapshot?.waiting ?? 0)),
            (kvUsage, snapshot?.kvUsage ?? 0), (vllmKVUsage, snapshot?.kvUsage ?? 0),
            (hostCacheBytes, Double(snapshot?.hostCachedBytes ?? 0))]
        for (gauge, value) in gauges { gauge.set(value) }
        if let counters = snapshot?.counters { addTotals(counters) }
        if let snapshot { tenants.update(snapshot.tenants, active: isActive) }
        process.update()
        return registry.emitToString()
    }

    /// Adds the growth of the scheduler's totals since the last scrape.
    private func addTotals(_ now: SchedulerCounters) {
        let before: SchedulerCounters? = seen.withLock { state in
            guard state.active else { return nil }
            defer { state.counters = now }
            return state.counters ?? SchedulerCounters()
        }
        guard let before else { return }
        for (counter, delta) in [(promptTokens, now.promptTokens - before.promptTokens),
                                 (generationTokens, now.generationTokens - before.generationTokens),
                                 (preemptions, now.preemptions - before.preemptions),
                                 (prefixHits, now.prefixHitTokens - before.prefixHitTokens),
                                 (vllmPrefixHits, now.prefixHitTokens - before.prefixHitTokens),
                                 (prefixHostHits, now.prefixHostHitTokens - before.prefixHostHitTokens),
                                 (prefixQueries, now.prefixQueryTokens - before.prefixQueryTokens),
                                 (vllmPrefixQueries, now.prefixQueryTokens - before.prefixQueryTokens),
                                 (slotMoves, now.slotMoves - before.slotMoves)] where delta > 0 {
            counter.increment(by: Int64(delta))
        }
        speculation.add(now, since: before)
    }

    // MARK: SchedulerObserver (engine thread)

    /// Records the step's duration, tokens and batch size.
    public func stepFinished(_ stats: StepStats) {
        guard isActive else { return }
        stepDuration.record(stats.duration)
        stepTokens.record(Double(stats.prefillTokens + stats.decodeTokens))
        stepSequences.record(Double(stats.sequences))
        stepPhase.engine.increment(by: max(stats.duration - stats.sampleSeconds, 0))
        stepPhase.sampling.increment(by: stats.sampleSeconds)
        stepPhase.scheduler.increment(by: stats.scheduleSeconds)
        stepPhase.host.increment(by: stats.hostSeconds)
    }

    /// Records a finished request's latencies and lengths.
    public func requestFinished(_ summary: GenerationSummary) {
        guard isActive else { return }
        success(summary.reason, summary.endpoint).increment()
        endToEnd.record(summary.totalTime)
        queueTime.record(summary.queueTime)
        requestPromptTokens.record(Double(summary.promptTokens))
        // An embedding generates nothing: it has no first token and no output length.
        guard summary.embedding == nil else { return }
        timeToFirstToken.record(summary.timeToFirstToken)
        if summary.completionTokens > 1 { timePerOutputToken.record(summary.meanInterTokenLatency) }
        requestGenerationTokens.record(Double(summary.completionTokens))
    }

    /// Counts a request that failed after it was queued, from a caller that named no endpoint.
    public func requestFailed(_ error: SchedulerError) {
        requestFailed(error, endpoint: "")
    }

    /// Counts a request that failed after it was queued.
    public func requestFailed(_ error: SchedulerError, endpoint: String) {
        guard isActive else { return }
        failure(Self.reason(error), endpoint).increment()
    }

    /// Preemptions are counted from the snapshot's totals.


    /// The failure label for a scheduler error.
    public static func reason(_ error: SchedulerError) -> FailureReason {
        switch error {
        case .cancelled: .cancelled
        case .overloaded: .overload
        case .queueTimeout: .timeout
        case .invalidRequest, .contextLengthExceeded: .badRequest
        case .shuttingDown, .engineFailure: .error
        }
    }
}

extension MetricNameDescriptor {
    /// A descriptor whose full name is `name` exactly, with help text.
    static func exact(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
