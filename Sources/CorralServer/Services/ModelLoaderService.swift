public import Scheduler
public import Logging
public import ServiceLifecycle

/// Loads the model after HTTP is up (so liveness answers at once), warms it up and marks
/// the server ready. A model that cannot load ends the process with an error, so an
/// orchestrator sees the failure instead of a pod that never turns ready.
public struct ModelLoaderService: Service {
    /// Builds the engine from the configuration, with the scheduler reporting to the metrics.
    public typealias Loader = @Sendable (ServerConfig, (any SchedulerObserver)?) async throws -> ServingEngine

    let config: ServerConfig
    let state: ModelState
    let metrics: ServingMetrics?
    let logger: Logger
    let load: Loader

    /// Creates the service. `metrics` observes the scheduler, and starts counting once
    /// warm-up is over; `load` builds the engine (`EngineLoader.load` for llama.cpp).
    public init(config: ServerConfig, state: ModelState, metrics: ServingMetrics? = nil, logger: Logger,
                load: @escaping Loader) {
        self.config = config
        self.state = state
        self.metrics = metrics
        self.logger = logger
        self.load = load
    }

    /// Loads, then waits for shutdown and stops the scheduler.
    public func run() async throws {
        let engine: ServingEngine
        do {
            logger.info("loading model", metadata: ["model": "\(config.model)"])
            engine = try await load(config, metrics)
            if config.warmUp { try await engine.warmUp() }
            // Adapters found at startup are served from the first ready answer.
            await engine.adapters.refresh()
            let snapshot = engine.scheduler.snapshot
            metrics?.activate(baseline: snapshot, maxRequests: engine.scheduler.config.maxRunningSequences,
                              cache: (engine.scheduler.config, snapshot.kvCapacity, engine.kvSizing.bytesPerToken,
                                      config.gpuMemoryUtilization))
        } catch {
            state.set(.failed("\(error)"))
            logger.error("model failed to load: \(error)")
            throw error
        }
        logSummary(engine)
        if state.markReady(engine) {
            logger.info("ready", metadata: ["model": "\(engine.servedName)", "port": "\(config.port)"])
        }
        let interval = engine.adapters.isEnabled ? config.lora.refreshInterval : 0
        if interval > 0 {
            // Rescans NIM_PEFT_SOURCE until shutdown (NIM_PEFT_REFRESH_INTERVAL).
            try? await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: .seconds(interval))
                    await engine.adapters.refresh()
                }
            }
        } else {
            try? await gracefulShutdown()
        }
        engine.scheduler.shutdown()
        engine.kvEvents?.shutdown()
    }

    /// One line with what the engine runs on and the sizes in force, then one line per size
    /// the engine chose below what the operator might expect (a capped `max_model_len`).
    private func logSummary(_ engine: ServingEngine) {
        let k = engine.kvSizing
        let snapshot = engine.scheduler.snapshot
        logger.info("engine", metadata: [
            "device": "\(k.device)", "devices": "\(k.devices.joined(separator: "; "))",
            "offloaded_layers": "\(k.offloadedLayers)/\(engine.model.metadata.layerCount)",
            "weights_mib": "\(engine.model.sizeBytes >> 20)", "kv_mib": "\((snapshot.kvCapacity * k.bytesPerToken) >> 20)",
            "kv_tokens": "\(snapshot.kvCapacity)", "kv_sizing": "\(k.mode)",
            "max_model_len": "\(engine.scheduler.maxModelLength)", "max_num_seqs": "\(engine.scheduler.config.maxRunningSequences)",
            "max_batch_tokens": "\(engine.scheduler.config.maxBatchTokens)",
            "threads": "\(engine.threads.map { "\($0.threads) (\($0.source))" } ?? "-")",
            "kv_layout": "\(config.unifiedKV ? "unified" : "partitioned")",
            "prefix_cache": "\(engine.scheduler.prefixCacheMode)",
            "serial_prefill": "\(engine.scheduler.config.serialPrefill)",
            "lora_adapters": "\(engine.adapters.adapters.map(\.name).joined(separator: ","))"])
        logger.info("parallel", metadata: [
            "split_mode": "\(engine.parallel.mode.rawValue)", "profile": "\(engine.parallel.profile)",
            "why": "\(engine.parallel.reason)",
            "devices": "\(engine.placement.map { "\($0.name) \($0.layers) layers \($0.totalBytes >> 20) MiB" }.joined(separator: "; "))"])
        for (size, reason) in k.reasons.sorted(by: { $0.key < $1.key }) {
            logger.info("sized", metadata: ["setting": "\(size)", "why": "\(reason)"])
        }
    }
}
