public import Logging
public import ServiceLifecycle

/// Loads the model after HTTP is up (so liveness answers at once), warms it up and marks
/// the server ready. A model that cannot load ends the process with an error, so an
/// orchestrator sees the failure instead of a pod that never turns ready.
public struct ModelLoaderService: Service {
    let config: ServerConfig
    let state: ModelState
    let logger: Logger

    /// Creates the service.
    public init(config: ServerConfig, state: ModelState, logger: Logger) {
        self.config = config
        self.state = state
        self.logger = logger
    }

    /// Loads, then waits for shutdown and stops the scheduler.
    public func run() async throws {
        let engine: ServingEngine
        do {
            logger.info("loading model", metadata: ["model": "\(config.model)"])
            engine = try await ServingEngine.load(config)
            if config.warmUp { try await engine.warmUp() }
        } catch {
            state.set(.failed("\(error)"))
            logger.error("model failed to load: \(error)")
            throw error
        }
        if state.markReady(engine) {
            let snapshot = engine.scheduler.snapshot
            logger.info("ready", metadata: ["model": "\(engine.servedName)", "port": "\(config.port)",
                                             "kv_tokens": "\(snapshot.kvCapacity)",
                                             "kv_layout": "\(config.unifiedKV ? "unified" : "partitioned")",
                                             "max_model_len": "\(engine.scheduler.maxModelLength)"])
        }
        try? await gracefulShutdown()
        engine.scheduler.shutdown()
    }
}
