import ArgumentParser
import CorralEngine
import CorralServer
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import Scheduler
import ServiceLifecycle

/// `corral serve`: load a model and serve the OpenAI-compatible API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a GGUF model over an OpenAI-compatible HTTP API.",
        discussion: "Every option can also be set with the NIM_* environment variable named in its help; a flag wins.")

    @Option(help: "Address to bind.")
    var host: String = "0.0.0.0"
    @Option(help: "Port (NIM_SERVER_PORT; default \(ServeDefaults.port)).")
    var port: Int?
    @Option(help: "GGUF path or cached model name (NIM_MODEL_NAME; default \(ServeDefaults.model)).")
    var model: String?
    @Option(help: "Model cache directory (NIM_CACHE_PATH; default \(ServeDefaults.cachePath)).")
    var cachePath: String?
    @Option(help: "Model name in the API (NIM_SERVED_MODEL_NAME; default: the file's name).")
    var servedModelName: String?
    @Option(help: "KV cache cells for all sequences together (NIM_KV_CACHE_TOKENS; default \(ServeDefaults.kvCacheTokens)).")
    var kvCacheTokens: Int?
    @Option(help: "Size the KV cache to this share of the memory left after the weights (GPU free memory, or system/cgroup memory on CPU), 0-1 or 1-100; replaces --kv-cache-tokens (NIM_KV_CACHE_PERCENT; default: unset).")
    var kvCachePercent: Double?
    @Option(help: "Longest sequence, prompt plus output (NIM_MAX_MODEL_LEN; default: the KV capacity).")
    var maxModelLen: Int?
    @Option(help: "Tokens per scheduler step (NIM_MAX_BATCH_TOKENS; default \(ServeDefaults.maxBatchTokens)).")
    var maxBatchTokens: Int?
    @Option(help: "Sequences running at once (NIM_MAX_NUM_SEQS; default \(ServeDefaults.maxNumSeqs)).")
    var maxNumSeqs: Int?
    @Option(help: "Waiting requests before 429 (NIM_MAX_QUEUE_REQUESTS; default \(ServeDefaults.maxQueueRequests)).")
    var maxQueueRequests: Int?
    @Option(help: "Waiting prompt tokens before 429 (NIM_MAX_QUEUE_TOKENS; default \(ServeDefaults.maxQueueTokens)).")
    var maxQueueTokens: Int?
    @Option(help: "Engine CPU threads (NIM_NUM_THREADS; default: the CPUs this process may use, after affinity and the cgroup quota).")
    var threads: Int?
    @Option(help: "Layers to offload to the GPU, -1 for all (NIM_GPU_LAYERS; default \(ServeDefaults.gpuLayers)).")
    var gpuLayers: Int?
    @Option(help: "Largest request body in bytes (NIM_MAX_REQUEST_BYTES; default \(ServeDefaults.maxRequestBytes)).")
    var maxRequestBytes: Int?
    @Option(help: "Reuse KV of finished prompts for shared prefixes, 1 or 0 (NIM_ENABLE_KV_CACHE_REUSE; default \(ServeDefaults.flag(ServeDefaults.enableKvCacheReuse))).")
    var enableKvCacheReuse: Bool?
    @Option(help: "MiB of host RAM for the prefix cache's second tier (KV of conversations whose slot was reused), 0 for none; capped to a quarter of available memory (NIM_KV_CACHE_HOST_MEM_MIB; default \(ServeDefaults.kvCacheHostMemMiB)).")
    var kvCacheHostMemMib: Int?
    @Option(help: "Admission order: fair (priority, then tenants by weight), priority or fcfs (NIM_SCHEDULER_POLICY; default \(ServeDefaults.schedulerPolicy.rawValue)).")
    var schedulerPolicy: String?
    @Option(help: "Seconds a request may wait in the queue before a 503; 0 for no limit (NIM_QUEUE_TIMEOUT_SECONDS; default \(ServeDefaults.queueTimeoutSeconds)).")
    var queueTimeoutSeconds: Int?
    @Option(help: "Seconds in-flight requests get to finish after SIGTERM (NIM_DRAIN_GRACE_SECONDS; default \(ServeDefaults.drainGraceSeconds)).")
    var drainGraceSeconds: Int?
    @Option(help: "File of API keys, one per line; clients send Authorization: Bearer <key> (NIM_API_KEYS_FILE; default: no auth).")
    var apiKeysFile: String?
    @Option(help: "KV layout: auto, unified or partitioned (NIM_KV_LAYOUT; default \(ServeDefaults.kvLayout.rawValue): partitioned).")
    var kvLayout: String?
    @Option(help: "JSON-lines logs, 1 or 0 (NIM_JSONL_LOGGING; default 0).")
    var jsonlLogging: Bool?
    @Option(help: "Log level: trace, debug, info, notice, warning, error (NIM_LOG_LEVEL; default info).")
    var logLevel: String?
    @Option(help: "Require an API key for /v1/metrics too when keys are set, 1 or 0 (NIM_METRICS_REQUIRE_AUTH; default \(ServeDefaults.flag(ServeDefaults.metricsRequireAuth))).")
    var metricsRequireAuth: Bool?
    @Option(help: "Add a stats object (queue time, TTFT, ITL, tokens/s) to each response, 1 or 0 (NIM_PER_REQ_METRICS_ENABLE; default \(ServeDefaults.flag(ServeDefaults.perReqMetrics))).")
    var perReqMetrics: Bool?
    @Option(help: "Time-to-first-token and queue-time histogram bounds, seconds, comma-separated (NIM_METRICS_TTFT_BUCKETS; default 0.001 up to 80).")
    var metricsTtftBuckets: String?
    @Option(help: "Time-per-output-token and step-duration histogram bounds, seconds (NIM_METRICS_ITL_BUCKETS; default 0.001 up to 2.5).")
    var metricsItlBuckets: String?
    @Option(help: "End-to-end latency histogram bounds, seconds (NIM_METRICS_E2E_BUCKETS; default 0.05 up to 960).")
    var metricsE2eBuckets: String?
    @Option(help: "TLS: DISABLED, TLS or MTLS (NIM_SSL_MODE; default DISABLED).")
    var sslMode: String?
    @Option(help: "PEM private key for TLS (NIM_SSL_KEY_PATH).")
    var sslKeyPath: String?
    @Option(help: "PEM certificate chain for TLS, leaf first (NIM_SSL_CERTS_PATH).")
    var sslCertsPath: String?
    @Option(help: "PEM CA certificates that sign client certificates, for MTLS (NIM_SSL_CA_CERTS_PATH).")
    var sslCaCertsPath: String?
    @Option(help: "Largest request line plus headers, bytes; more gets 431 (NIM_MAX_HEADER_BYTES; default \(ServeDefaults.maxHeaderBytes)).")
    var maxHeaderBytes: Int?
    @Option(help: "Seconds an idle connection stays open; 0 for no limit (NIM_HTTP_IDLE_TIMEOUT_SECONDS; default \(ServeDefaults.httpIdleTimeoutSeconds)).")
    var httpIdleTimeoutSeconds: Int?
    @Option(help: "A Jinja chat template to use instead of the model's, rendered as llama-server renders it (NIM_CHAT_TEMPLATE_FILE; default: the template in the GGUF).")
    var chatTemplateFile: String?
    @Option(help: "A thinking model's reasoning: split (into reasoning_content), inline (left in content) or hidden (NIM_REASONING_FORMAT; default \(ServeDefaults.reasoningFormat.rawValue)).")
    var reasoningFormat: String?
    @Option(help: "1 keeps prompts and completions out of the logs; 0 logs them (NIM_DISABLE_LOG_REQUESTS; default \(ServeDefaults.flag(ServeDefaults.disableLogRequests))).")
    var disableLogRequests: Bool?

    @Flag(help: "Check the settings (flags and NIM_* variables) and exit: status 0 when serve would start with them, else the reason on one line.")
    var checkConfig = false

    func config() throws -> ServerConfig {
        var c = ServerConfig(
            host: host,
            port: try Environment.int("NIM_SERVER_PORT", flag: port, default: ServeDefaults.port),
            model: model ?? Environment.string("NIM_MODEL_NAME") ?? ServeDefaults.model,
            cachePath: cachePath ?? Environment.string("NIM_CACHE_PATH") ?? ServeDefaults.cachePath,
            servedModelName: servedModelName ?? Environment.string("NIM_SERVED_MODEL_NAME"),
            kvCapacity: try Environment.int("NIM_KV_CACHE_TOKENS", flag: kvCacheTokens, default: ServeDefaults.kvCacheTokens),
            maxModelLength: try Environment.int("NIM_MAX_MODEL_LEN", flag: maxModelLen, default: 0),
            maxBatchTokens: try Environment.int("NIM_MAX_BATCH_TOKENS", flag: maxBatchTokens, default: ServeDefaults.maxBatchTokens),
            maxRunningSequences: try Environment.int("NIM_MAX_NUM_SEQS", flag: maxNumSeqs, default: ServeDefaults.maxNumSeqs),
            maxWaitingRequests: try Environment.int("NIM_MAX_QUEUE_REQUESTS", flag: maxQueueRequests, default: ServeDefaults.maxQueueRequests),
            maxWaitingTokens: try Environment.int("NIM_MAX_QUEUE_TOKENS", flag: maxQueueTokens, default: ServeDefaults.maxQueueTokens),
            threads: try Environment.int("NIM_NUM_THREADS", flag: threads, default: 0),
            gpuLayers: try Environment.int("NIM_GPU_LAYERS", flag: gpuLayers, default: ServeDefaults.gpuLayers),
            maxBodyBytes: try Environment.int("NIM_MAX_REQUEST_BYTES", flag: maxRequestBytes, default: ServeDefaults.maxRequestBytes),
            prefixCaching: try Environment.bool("NIM_ENABLE_KV_CACHE_REUSE", flag: enableKvCacheReuse, default: ServeDefaults.enableKvCacheReuse),
            policy: try Environment.choice(schedulerPolicy ?? Environment.string("NIM_SCHEDULER_POLICY") ?? ServeDefaults.schedulerPolicy.rawValue,
                                           as: SchedulerConfig.Policy.self, what: "scheduler policy"),
            kvLayout: try Environment.choice(kvLayout ?? Environment.string("NIM_KV_LAYOUT") ?? ServeDefaults.kvLayout.rawValue,
                                             as: KVLayout.self, what: "KV layout"),
            queueTimeout: Double(try Environment.int("NIM_QUEUE_TIMEOUT_SECONDS", flag: queueTimeoutSeconds, default: ServeDefaults.queueTimeoutSeconds)))
        c.hostCacheMiB = try Environment.int("NIM_KV_CACHE_HOST_MEM_MIB", flag: kvCacheHostMemMib, default: ServeDefaults.kvCacheHostMemMiB)
        c.drainGrace = Double(try Environment.int("NIM_DRAIN_GRACE_SECONDS", flag: drainGraceSeconds, default: ServeDefaults.drainGraceSeconds))
        if let file = apiKeysFile ?? Environment.string("NIM_API_KEYS_FILE") {
            do { c.keys = try KeyStore(path: file) } catch { throw ConfigError("NIM_API_KEYS_FILE=\(file): \(error)") }
        }
        let percentText = kvCachePercent.map { String($0) } ?? Environment.string("NIM_KV_CACHE_PERCENT")
        if let percentText {
            guard var share = Double(percentText), share > 0, share <= 100 else {
                throw ConfigError("NIM_KV_CACHE_PERCENT=\(percentText) must be a share in (0, 1] or a percentage in (1, 100]")
            }
            if share > 1 { share /= 100 }
            guard kvCacheTokens == nil, Environment.string("NIM_KV_CACHE_TOKENS") == nil else {
                throw ConfigError("set NIM_KV_CACHE_TOKENS or NIM_KV_CACHE_PERCENT, not both")
            }
            c.kvCachePercent = share
        }
        c.metricsRequireAuth = try Environment.bool("NIM_METRICS_REQUIRE_AUTH", flag: metricsRequireAuth, default: ServeDefaults.metricsRequireAuth)
        c.perRequestStats = try Environment.bool("NIM_PER_REQ_METRICS_ENABLE", flag: perReqMetrics, default: ServeDefaults.perReqMetrics)
        do {
            if let text = metricsTtftBuckets ?? Environment.string("NIM_METRICS_TTFT_BUCKETS") {
                c.metricsBuckets.timeToFirstToken = try MetricBuckets.parse(text, setting: "NIM_METRICS_TTFT_BUCKETS")
            }
            if let text = metricsItlBuckets ?? Environment.string("NIM_METRICS_ITL_BUCKETS") {
                c.metricsBuckets.interTokenLatency = try MetricBuckets.parse(text, setting: "NIM_METRICS_ITL_BUCKETS")
            }
            if let text = metricsE2eBuckets ?? Environment.string("NIM_METRICS_E2E_BUCKETS") {
                c.metricsBuckets.endToEnd = try MetricBuckets.parse(text, setting: "NIM_METRICS_E2E_BUCKETS")
            }
        } catch { throw ConfigError(error.description) }
        let mode = (sslMode ?? Environment.string("NIM_SSL_MODE") ?? "DISABLED").uppercased()
        guard let tlsMode = TLSSettings.Mode(rawValue: mode) else {
            throw ConfigError("NIM_SSL_MODE must be DISABLED, TLS or MTLS, not \(mode)")
        }
        c.tls = TLSSettings(mode: tlsMode, keyPath: sslKeyPath ?? Environment.string("NIM_SSL_KEY_PATH"),
                            certsPath: sslCertsPath ?? Environment.string("NIM_SSL_CERTS_PATH"),
                            caCertsPath: sslCaCertsPath ?? Environment.string("NIM_SSL_CA_CERTS_PATH"))
        do { _ = try c.tls.configuration() } catch { throw ConfigError(error.description) }
        c.maxHeaderBytes = try Environment.int("NIM_MAX_HEADER_BYTES", flag: maxHeaderBytes, default: ServeDefaults.maxHeaderBytes)
        c.idleTimeout = Double(try Environment.int("NIM_HTTP_IDLE_TIMEOUT_SECONDS", flag: httpIdleTimeoutSeconds, default: ServeDefaults.httpIdleTimeoutSeconds))
        c.chatTemplateFile = chatTemplateFile ?? Environment.string("NIM_CHAT_TEMPLATE_FILE")
        if let file = c.chatTemplateFile, !FileManager.default.isReadableFile(atPath: file) {
            throw ConfigError("NIM_CHAT_TEMPLATE_FILE=\(file) cannot be read")
        }
        c.reasoningFormat = try Environment.choice(
            reasoningFormat ?? Environment.string("NIM_REASONING_FORMAT") ?? ServeDefaults.reasoningFormat.rawValue,
            as: ReasoningFormat.self, what: "NIM_REASONING_FORMAT")
        c.logPrompts = !(try Environment.bool("NIM_DISABLE_LOG_REQUESTS", flag: disableLogRequests, default: ServeDefaults.disableLogRequests))
        do { try c.validate() } catch { throw ConfigError(error.description) }
        return c
    }

    func run() async throws {
        let config: ServerConfig
        var logger = Logger(label: "corral")
        do {
            config = try self.config()
            let level = logLevel ?? Environment.string("NIM_LOG_LEVEL") ?? "info"
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else { throw ConfigError("unknown log level \(level)") }
            logger.logLevel = parsed
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
        if checkConfig {
            print("corral serve: the configuration is valid")
            return
        }
        let jsonl = try Environment.bool("NIM_JSONL_LOGGING", flag: jsonlLogging, default: false)
        let level = logger.logLevel
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = jsonl ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        logger = Logger(label: "corral")
        logger.logLevel = level
        let state = ModelState()
        // Warm-up stays out of the metrics; swift-metrics users (libraries) report into
        // the same registry, with the same model_name label.
        let metrics = ServingMetrics(config: config, active: false)
        var factory = PrometheusMetricsFactory(registry: metrics.registry)
        let modelLabel = ("model_name", metrics.modelName)
        factory.nameAndLabelSanitizer = { name, labels in
            (name.replacingOccurrences(of: ".", with: "_"),
             [modelLabel] + labels.map { ($0.0.replacingOccurrences(of: ".", with: "_"), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
        let app = try buildApplication(config: config, state: state, metrics: metrics, engine: EngineLoader.identity,
                                       logger: logger)
        let loader = ModelLoaderService(config: config, state: state, metrics: metrics, logger: logger) {
            try await EngineLoader.load($0, observer: $1)
        }
        let drain = DrainService(state: state, grace: config.drainGrace, logger: logger)
        // Shutdown runs in reverse: drain first (readiness 503, in-flight requests finish),
        // then HTTP stops, then the loader.
        let reload = config.keys.map { ServiceGroupConfiguration.ServiceConfiguration(service: KeysReloadService(keys: $0, logger: logger)) }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: loader), .init(service: app), .init(service: drain)] + (reload.map { [$0] } ?? []),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
