import CorralEngine
import CorralServer
import Foundation
import Logging

/// Builds the same application `corral serve` runs, over the real SmolLM2 model.
enum ServerFixture {
    static let cache = ProcessInfo.processInfo.environment["CORRAL_CACHE"] ?? NSHomeDirectory() + "/.cache/corral"
    static let modelPath = ProcessInfo.processInfo.environment["CORRAL_TEST_MODEL"]
        ?? cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"

    static func config(kvCapacity: Int = 4096, sequences: Int = 8) -> ServerConfig {
        ServerConfig(host: "127.0.0.1", port: 0, model: modelPath, cachePath: cache, kvCapacity: kvCapacity,
                     maxBatchTokens: 256, maxRunningSequences: sequences, threads: 2, gpuLayers: 0)
    }

    /// A model loaded and warmed up once per test process, shared by tests that need no
    /// special configuration.
    static func shared() async -> (ServerConfig, ModelState) { await SharedModel.instance.get() }

    static var logger: Logger {
        var logger = Logger(label: "corral-test")
        logger.logLevel = .warning
        return logger
    }
}

/// Loads the shared model on first use.
actor SharedModel {
    static let instance = SharedModel()
    private var loaded: (ServerConfig, ModelState)?

    func get() async -> (ServerConfig, ModelState) {
        if let loaded { return loaded }
        let config = ServerFixture.config()
        let state = ModelState()
        do {
            let engine = try await EngineLoader.load(config)
            try await engine.warmUp()
            state.set(.ready(engine))
        } catch {
            state.set(.failed("\(error)"))
        }
        loaded = (config, state)
        return (config, state)
    }
}
