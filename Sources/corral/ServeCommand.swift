import ArgumentParser
import CorralCore
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
    @Option(name: .customLong(ServeSetting.port.flag), help: ArgumentHelp(ServeSetting.port.help))
    var port: Int?
    @Option(name: .customLong(ServeSetting.model.flag), help: ArgumentHelp(ServeSetting.model.help))
    var model: String?
    @Option(name: .customLong(ServeSetting.cachePath.flag), help: ArgumentHelp(ServeSetting.cachePath.help))
    var cachePath: String?
    @Option(name: .customLong(ServeSetting.servedModelName.flag), help: ArgumentHelp(ServeSetting.servedModelName.help))
    var servedModelName: String?
    @Option(name: .customLong(ServeSetting.kvCacheTokens.flag), help: ArgumentHelp(ServeSetting.kvCacheTokens.help))
    var kvCacheTokens: Int?
    @Option(name: .customLong(ServeSetting.kvCachePercent.flag), help: ArgumentHelp(ServeSetting.kvCachePercent.help))
    var kvCachePercent: Double?
    @Option(name: .customLong(ServeSetting.gpuMemoryUtilization.flag), help: ArgumentHelp(ServeSetting.gpuMemoryUtilization.help))
    var gpuMemoryUtilization: Double?
    @Option(name: .customLong(ServeSetting.maxModelLen.flag), help: ArgumentHelp(ServeSetting.maxModelLen.help))
    var maxModelLen: Int?
    @Option(name: .customLong(ServeSetting.maxBatchTokens.flag), help: ArgumentHelp(ServeSetting.maxBatchTokens.help))
    var maxBatchTokens: Int?
    @Option(name: .customLong(ServeSetting.maxNumSeqs.flag), help: ArgumentHelp(ServeSetting.maxNumSeqs.help))
    var maxNumSeqs: Int?
    @Option(name: .customLong(ServeSetting.maxQueueRequests.flag), help: ArgumentHelp(ServeSetting.maxQueueRequests.help))
    var maxQueueRequests: Int?
    @Option(name: .customLong(ServeSetting.maxQueueTokens.flag), help: ArgumentHelp(ServeSetting.maxQueueTokens.help))
    var maxQueueTokens: Int?
    @Option(name: .customLong(ServeSetting.threads.flag), help: ArgumentHelp(ServeSetting.threads.help))
    var threads: Int?
    @Option(name: .customLong(ServeSetting.gpuLayers.flag), help: ArgumentHelp(ServeSetting.gpuLayers.help))
    var gpuLayers: Int?
    @Option(name: .customLong(ServeSetting.maxRequestBytes.flag), help: ArgumentHelp(ServeSetting.maxRequestBytes.help))
    var maxRequestBytes: Int?
    @Option(name: .customLong(ServeSetting.enableKvCacheReuse.flag), help: ArgumentHelp(ServeSetting.enableKvCacheReuse.help))
    var enableKvCacheReuse: Toggle?
    @Option(name: .customLong(ServeSetting.kvCacheHostMemMib.flag), help: ArgumentHelp(ServeSetting.kvCacheHostMemMib.help))
    var kvCacheHostMemMib: Int?
    @Option(name: .customLong(ServeSetting.schedulerPolicy.flag), help: ArgumentHelp(ServeSetting.schedulerPolicy.help))
    var schedulerPolicy: String?
    @Option(name: .customLong(ServeSetting.queueTimeoutSeconds.flag), help: ArgumentHelp(ServeSetting.queueTimeoutSeconds.help))
    var queueTimeoutSeconds: Int?
    @Option(name: .customLong(ServeSetting.drainGraceSeconds.flag), help: ArgumentHelp(ServeSetting.drainGraceSeconds.help))
    var drainGraceSeconds: Int?
    @Option(name: .customLong(ServeSetting.apiKeysFile.flag), help: ArgumentHelp(ServeSetting.apiKeysFile.help))
    var apiKeysFile: String?
    @Option(name: .customLong(ServeSetting.kvLayout.flag), help: ArgumentHelp(ServeSetting.kvLayout.help))
    var kvLayout: String?
    @Option(name: .customLong(ServeSetting.jsonlLogging.flag), help: ArgumentHelp(ServeSetting.jsonlLogging.help))
    var jsonlLogging: Toggle?
    @Option(name: .customLong(ServeSetting.logLevel.flag), help: ArgumentHelp(ServeSetting.logLevel.help))
    var logLevel: String?
    @Option(name: .customLong(ServeSetting.metricsRequireAuth.flag), help: ArgumentHelp(ServeSetting.metricsRequireAuth.help))
    var metricsRequireAuth: Toggle?
    @Option(name: .customLong(ServeSetting.perReqMetrics.flag), help: ArgumentHelp(ServeSetting.perReqMetrics.help))
    var perReqMetrics: Toggle?
    @Option(name: .customLong(ServeSetting.metricsTtftBuckets.flag), help: ArgumentHelp(ServeSetting.metricsTtftBuckets.help))
    var metricsTtftBuckets: String?
    @Option(name: .customLong(ServeSetting.metricsItlBuckets.flag), help: ArgumentHelp(ServeSetting.metricsItlBuckets.help))
    var metricsItlBuckets: String?
    @Option(name: .customLong(ServeSetting.metricsE2eBuckets.flag), help: ArgumentHelp(ServeSetting.metricsE2eBuckets.help))
    var metricsE2eBuckets: String?
    @Option(name: .customLong(ServeSetting.sslMode.flag), help: ArgumentHelp(ServeSetting.sslMode.help))
    var sslMode: String?
    @Option(name: .customLong(ServeSetting.sslKeyPath.flag), help: ArgumentHelp(ServeSetting.sslKeyPath.help))
    var sslKeyPath: String?
    @Option(name: .customLong(ServeSetting.sslCertsPath.flag), help: ArgumentHelp(ServeSetting.sslCertsPath.help))
    var sslCertsPath: String?
    @Option(name: .customLong(ServeSetting.sslCaCertsPath.flag), help: ArgumentHelp(ServeSetting.sslCaCertsPath.help))
    var sslCaCertsPath: String?
    @Option(name: .customLong(ServeSetting.maxHeaderBytes.flag), help: ArgumentHelp(ServeSetting.maxHeaderBytes.help))
    var maxHeaderBytes: Int?
    @Option(name: .customLong(ServeSetting.httpIdleTimeoutSeconds.flag), help: ArgumentHelp(ServeSetting.httpIdleTimeoutSeconds.help))
    var httpIdleTimeoutSeconds: Int?
    @Option(name: .customLong(ServeSetting.chatTemplateFile.flag), help: ArgumentHelp(ServeSetting.chatTemplateFile.help))
    var chatTemplateFile: String?
    @Option(name: .customLong(ServeSetting.reasoningFormat.flag), help: ArgumentHelp(ServeSetting.reasoningFormat.help))
    var reasoningFormat: String?
    @Option(name: .customLong(ServeSetting.enableEmbeddings.flag), help: ArgumentHelp(ServeSetting.enableEmbeddings.help))
    var embeddings: Toggle?
    @Option(name: .customLong(ServeSetting.embeddingPooling.flag), help: ArgumentHelp(ServeSetting.embeddingPooling.help))
    var pooling: String?
    @Option(name: .customLong(ServeSetting.disableLogRequests.flag), help: ArgumentHelp(ServeSetting.disableLogRequests.help))
    var disableLogRequests: Toggle?

    @Option(name: .customLong(ServeSetting.speculativeMethod.flag), help: ArgumentHelp(ServeSetting.speculativeMethod.help))
    var speculativeMethod: String?
    @Option(name: .customLong(ServeSetting.speculativeDraftModel.flag), help: ArgumentHelp(ServeSetting.speculativeDraftModel.help))
    var speculativeDraftModel: String?
    @Option(name: .customLong(ServeSetting.speculativeNumTokens.flag), help: ArgumentHelp(ServeSetting.speculativeNumTokens.help))
    var speculativeNumTokens: Int?
    @Option(name: .customLong(ServeSetting.speculativeNgramMin.flag), help: ArgumentHelp(ServeSetting.speculativeNgramMin.help))
    var speculativeNgramMin: Int?
    @Option(name: .customLong(ServeSetting.speculativeNgramMax.flag), help: ArgumentHelp(ServeSetting.speculativeNgramMax.help))
    var speculativeNgramMax: Int?
    @Option(name: .customLong(ServeSetting.speculativeDisableByBatchSize.flag),
            help: ArgumentHelp(ServeSetting.speculativeDisableByBatchSize.help))
    var speculativeDisableByBatchSize: Int?

    @Option(name: .customLong(ServeSetting.peftSource.flag), help: ArgumentHelp(ServeSetting.peftSource.help))
    var peftSource: String?
    @Option(name: .customLong(ServeSetting.peftRefreshInterval.flag), help: ArgumentHelp(ServeSetting.peftRefreshInterval.help))
    var peftRefreshInterval: Int?
    @Option(name: .customLong(ServeSetting.maxGPULoras.flag), help: ArgumentHelp(ServeSetting.maxGPULoras.help))
    var maxLoras: Int?
    @Option(name: .customLong(ServeSetting.maxCPULoras.flag), help: ArgumentHelp(ServeSetting.maxCPULoras.help))
    var maxCpuLoras: Int?
    @Option(name: .customLong(ServeSetting.maxLoraRank.flag), help: ArgumentHelp(ServeSetting.maxLoraRank.help))
    var maxLoraRank: Int?

    @OptionGroup(title: "Devices")
    var parallel: ParallelOptions

    @OptionGroup(title: "KV events")
    var kvEvents: KVEventOptions

    @Flag(help: "Check the settings (flags and NIM_* variables) and the model and exit: status 0 and the settings in force when serve would start with them, else the reason on one line.")
    var checkConfig = false

    /// The settings in force: flags over `NIM_*` variables over defaults, each checked
    /// against its row of the settings table once.
    func config() throws(ServerConfig.Invalid) -> ServerConfig {
        typealias E = Environment
        var c = ServerConfig(
            host: host,
            port: try E.int(.port, flag: port, default: ServeDefaults.port),
            model: E.string(.model, flag: model) ?? ServeDefaults.model,
            cachePath: E.string(.cachePath, flag: cachePath) ?? ServeDefaults.cachePath,
            servedModelName: E.string(.servedModelName, flag: servedModelName),
            kvCapacity: try E.int(.kvCacheTokens, flag: kvCacheTokens),
            maxModelLength: try E.int(.maxModelLen, flag: maxModelLen) ?? 0,
            maxBatchTokens: try E.int(.maxBatchTokens, flag: maxBatchTokens),
            maxRunningSequences: try E.int(.maxNumSeqs, flag: maxNumSeqs),
            maxWaitingRequests: try E.int(.maxQueueRequests, flag: maxQueueRequests, default: ServeDefaults.maxQueueRequests),
            maxWaitingTokens: try E.int(.maxQueueTokens, flag: maxQueueTokens, default: ServeDefaults.maxQueueTokens),
            threads: try E.int(.threads, flag: threads, default: 0),
            gpuLayers: try E.int(.gpuLayers, flag: gpuLayers, default: ServeDefaults.gpuLayers),
            maxBodyBytes: try E.int(.maxRequestBytes, flag: maxRequestBytes, default: ServeDefaults.maxRequestBytes),
            prefixCaching: try E.bool(.enableKvCacheReuse, flag: enableKvCacheReuse, default: ServeDefaults.enableKvCacheReuse),
            policy: try E.choice(E.string(.schedulerPolicy, flag: schedulerPolicy) ?? ServeDefaults.schedulerPolicy.rawValue,
                                 as: SchedulerConfig.Policy.self, setting: .schedulerPolicy),
            kvLayout: try E.choice(E.string(.kvLayout, flag: kvLayout) ?? ServeDefaults.kvLayout.rawValue,
                                   as: KVLayout.self, setting: .kvLayout),
            queueTimeout: Double(try E.int(.queueTimeoutSeconds, flag: queueTimeoutSeconds, default: ServeDefaults.queueTimeoutSeconds)))
        c.hostCacheMiB = try E.int(.kvCacheHostMemMib, flag: kvCacheHostMemMib, default: ServeDefaults.kvCacheHostMemMiB)
        c.drainGrace = Double(try E.int(.drainGraceSeconds, flag: drainGraceSeconds, default: ServeDefaults.drainGraceSeconds))
        if let file = E.string(.apiKeysFile, flag: apiKeysFile) {
            do { c.keys = try KeyStore(path: file) } catch { throw .init(description: "NIM_API_KEYS_FILE=\(file): \(error)") }
        }
        if var share = try E.double(.kvCachePercent, flag: kvCachePercent) {
            if share > 1 { share /= 100 }
            guard c.kvCapacity == nil else {
                throw .init(description: "set NIM_KV_CACHE_TOKENS or NIM_KV_CACHE_PERCENT, not both")
            }
            c.kvCachePercent = share
        }
        c.gpuMemoryUtilization = try E.double(.gpuMemoryUtilization, flag: gpuMemoryUtilization) ?? ServeDefaults.gpuMemoryUtilization
        c.metricsRequireAuth = try E.bool(.metricsRequireAuth, flag: metricsRequireAuth, default: ServeDefaults.metricsRequireAuth)
        c.perRequestStats = try E.bool(.perReqMetrics, flag: perReqMetrics, default: ServeDefaults.perReqMetrics)
        do {
            if let text = E.string(.metricsTtftBuckets, flag: metricsTtftBuckets) {
                c.metricsBuckets.timeToFirstToken = try MetricBuckets.parse(text, setting: ServeSetting.metricsTtftBuckets.name)
            }
            if let text = E.string(.metricsItlBuckets, flag: metricsItlBuckets) {
                c.metricsBuckets.interTokenLatency = try MetricBuckets.parse(text, setting: ServeSetting.metricsItlBuckets.name)
            }
            if let text = E.string(.metricsE2eBuckets, flag: metricsE2eBuckets) {
                c.metricsBuckets.endToEnd = try MetricBuckets.parse(text, setting: ServeSetting.metricsE2eBuckets.name)
            }
        } catch { throw .init(description: error.description) }
        let mode = (E.string(.sslMode, flag: sslMode) ?? "DISABLED").uppercased()
        guard let tlsMode = TLSSettings.Mode(rawValue: mode) else {
            throw .init(description: "NIM_SSL_MODE must be DISABLED, TLS or MTLS, not \(mode)")
        }
        c.tls = TLSSettings(mode: tlsMode, keyPath: E.string(.sslKeyPath, flag: sslKeyPath),
                            certsPath: E.string(.sslCertsPath, flag: sslCertsPath),
                            caCertsPath: E.string(.sslCaCertsPath, flag: sslCaCertsPath))
        do { _ = try c.tls.configuration() } catch { throw .init(description: error.description) }
        c.maxHeaderBytes = try E.int(.maxHeaderBytes, flag: maxHeaderBytes, default: ServeDefaults.maxHeaderBytes)
        c.idleTimeout = Double(try E.int(.httpIdleTimeoutSeconds, flag: httpIdleTimeoutSeconds, default: ServeDefaults.httpIdleTimeoutSeconds))
        c.chatTemplateFile = E.string(.chatTemplateFile, flag: chatTemplateFile)
        if let file = c.chatTemplateFile, !FileManager.default.isReadableFile(atPath: file) {
            throw .init(description: "NIM_CHAT_TEMPLATE_FILE=\(file) cannot be read")
        }
        c.reasoningFormat = try E.choice(E.string(.reasoningFormat, flag: reasoningFormat) ?? ServeDefaults.reasoningFormat.rawValue,
                                         as: ReasoningFormat.self, setting: .reasoningFormat)
        c.enableEmbeddings = try E.bool(.enableEmbeddings, flag: embeddings, default: ServeDefaults.enableEmbeddings)
        c.embeddingPooling = try E.choice(E.string(.embeddingPooling, flag: pooling) ?? ServeDefaults.embeddingPooling.rawValue,
                                          as: EmbeddingPooling.self, setting: .embeddingPooling)
        c.logPrompts = !(try E.bool(.disableLogRequests, flag: disableLogRequests, default: ServeDefaults.disableLogRequests))
        c.speculation = SpeculationConfig(
            method: try E.choice(E.string(.speculativeMethod, flag: speculativeMethod) ?? ServeDefaults.speculativeMethod.rawValue,
                                 as: SpeculationConfig.Method.self, setting: .speculativeMethod),
            maxDraftTokens: try E.int(.speculativeNumTokens, flag: speculativeNumTokens, default: ServeDefaults.speculativeNumTokens),
            minMatch: try E.int(.speculativeNgramMin, flag: speculativeNgramMin, default: ServeDefaults.speculativeNgramMin),
            maxMatch: try E.int(.speculativeNgramMax, flag: speculativeNgramMax, default: ServeDefaults.speculativeNgramMax),
            disableByBatchSize: try E.int(.speculativeDisableByBatchSize, flag: speculativeDisableByBatchSize,
                                          default: ServeDefaults.speculativeDisableByBatchSize))
        c.draftModel = E.string(.speculativeDraftModel, flag: speculativeDraftModel)
        c.lora = LoRASettings(source: E.string(.peftSource, flag: peftSource),
                              refreshInterval: Double(try E.int(.peftRefreshInterval, flag: peftRefreshInterval) ?? 0))
        c.lora.maxActive = try E.int(.maxGPULoras, flag: maxLoras, default: ServeDefaults.maxGPULoras)
        c.lora.maxLoaded = try E.int(.maxCPULoras, flag: maxCpuLoras, default: ServeDefaults.maxCPULoras)
        c.lora.maxRank = try E.int(.maxLoraRank, flag: maxLoraRank, default: ServeDefaults.maxLoraRank)
        c.parallel = try parallel.settings()
        c.kvEvents = try kvEvents.settings()
        try c.validate()
        return c
    }

    func run() async throws {
        let (config, level, jsonl) = try validated()
        if checkConfig {
            print("corral serve: the configuration is valid")
            for (name, value) in config.settings.sorted(by: { $0.key < $1.key }) { print("\(name)=\(value)") }
            return
        }
        // llama.cpp's own log (load progress, devices, buffers) joins at debug and trace.
        if level <= .debug { setenv("CORRAL_ENGINE_LOG", "1", 1) }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = jsonl ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "corral")
        logger.logLevel = level
        switch EngineLoader.gpuVisibility(gpuLayers: config.gpuLayers) {
        case .fine: break
        case .cpuAsAsked(let message): logger.warning("\(message)")
        case .refuse(let message):
            logger.critical("\(message)")
            throw ExitCode.failure
        }
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
        let progress = LoadProgress(logger: logger)
        let loader = ModelLoaderService(config: config, state: state, metrics: metrics, logger: logger) { config, observer in
            var config = config
            if ModelDownload.isRemote(config.model) {
                config.model = try await ModelDownload.fetch(config.model, cachePath: config.cachePath)
            }
            return try await EngineLoader.load(config, observer: observer, progress: progress.report)
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
