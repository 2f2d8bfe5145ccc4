public import Scheduler
public import CorralCore

/// Everything `corral serve` needs, after flags and `NIM_*` environment variables have
/// been merged. Tests build one directly.
public struct ServerConfig: Sendable {
    /// Address to bind.
    public var host: String
    /// Port to bind (`NIM_SERVER_PORT`).
    public var port: Int
    /// GGUF path or cached model name (`NIM_MODEL_NAME`).
    public var model: String
    /// Model cache directory (`NIM_CACHE_PATH`).
    public var cachePath: String
    /// The model's name in the API (`NIM_SERVED_MODEL_NAME`); defaults to the file's name.
    public var servedModelName: String?
    /// KV cells for all sequences together (`NIM_KV_CACHE_TOKENS`); nil sizes the cache
    /// from memory (`KVSizing.plan`).
    public var kvCapacity: Int?
    /// Longest single sequence (`NIM_MAX_MODEL_LEN`); 0 means the model's trained context,
    /// capped by what the KV cache holds per sequence.
    public var maxModelLength: Int
    /// Scheduler step budget in tokens (`NIM_MAX_BATCH_TOKENS`); nil chooses by device.
    public var maxBatchTokens: Int?
    /// Running sequences at once (`NIM_MAX_NUM_SEQS`); nil chooses by device.
    public var maxRunningSequences: Int?
    /// vLLM's `gpu_memory_utilization`: the share of a GPU's total memory this server may
    /// use (`NIM_GPU_MEMORY_UTILIZATION`).
    public var gpuMemoryUtilization = ServeDefaults.gpuMemoryUtilization
    /// Waiting requests before 429 (`NIM_MAX_QUEUE_REQUESTS`).
    public var maxWaitingRequests: Int
    /// Waiting prompt tokens before 429 (`NIM_MAX_QUEUE_TOKENS`).
    public var maxWaitingTokens: Int
    /// CPU threads for the engine; 0 uses the CPUs this process may use (`CPUBudget`).
    public var threads: Int
    /// GPU layers; -1 offloads all when a GPU exists.
    public var gpuLayers: Int
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// Run one short generation before reporting ready.
    public var warmUp: Bool
    /// Reuse the KV of finished prompts for requests sharing a prefix (`NIM_ENABLE_KV_CACHE_REUSE`).
    public var prefixCaching: Bool
    /// MiB of host RAM for prefix-cache state saved from reused slots; 0 turns the tier off
    /// (`NIM_KV_CACHE_HOST_MEM_MIB`).
    public var hostCacheMiB = ServeDefaults.kvCacheHostMemMiB
    /// Admission order (`NIM_SCHEDULER_POLICY`).
    public var policy: SchedulerConfig.Policy
    /// KV layout (`NIM_KV_LAYOUT`).
    public var kvLayout: KVLayout
    /// Seconds a request may wait in the queue before it fails with 503; 0 waits as long
    /// as it takes (`NIM_QUEUE_TIMEOUT_SECONDS`).
    public var queueTimeout: Double
    /// API keys and their tenants (`NIM_API_KEYS_FILE`); nil means no authentication, and
    /// every request is tenant `default`.
    public var keys: KeyStore?
    /// Seconds in-flight requests get to finish after SIGTERM (`NIM_DRAIN_GRACE_SECONDS`).
    public var drainGrace = Double(ServeDefaults.drainGraceSeconds)
    /// Latency histogram bounds (`NIM_METRICS_*_BUCKETS`).
    public var metricsBuckets: MetricBuckets = .default
    /// Whether `/v1/metrics` needs an API key too, when keys are set (`NIM_METRICS_REQUIRE_AUTH`).
    public var metricsRequireAuth = ServeDefaults.metricsRequireAuth
    /// Whether responses carry a `stats` object (`NIM_PER_REQ_METRICS_ENABLE`).
    public var perRequestStats = ServeDefaults.perReqMetrics
    /// When set, the KV cache gets this share (0 to 1) of the memory left after the weights
    /// instead of `kvCapacity` tokens (`NIM_KV_CACHE_PERCENT`).
    public var kvCachePercent: Double?
    /// TLS or mTLS (`NIM_SSL_*`).
    public var tls = TLSSettings()
    /// Largest request head (request line and headers) in bytes; larger ones are refused
    /// with 431 (`NIM_MAX_HEADER_BYTES`).
    public var maxHeaderBytes = ServeDefaults.maxHeaderBytes
    /// Seconds a connection may sit idle, between requests or mid-upload, before it is
    /// closed; a response being written never counts as idle (`NIM_HTTP_IDLE_TIMEOUT_SECONDS`).
    public var idleTimeout = Double(ServeDefaults.httpIdleTimeoutSeconds)
    /// A Jinja chat template file to use instead of the model's (`NIM_CHAT_TEMPLATE_FILE`).
    public var chatTemplateFile: String?
    /// How a thinking model's reasoning is returned (`NIM_REASONING_FORMAT`).
    public var reasoningFormat = ServeDefaults.reasoningFormat
    /// Log prompts and completions too (`NIM_DISABLE_LOG_REQUESTS=0`); off by default.
    public var logPrompts = !ServeDefaults.disableLogRequests
    /// Speculative decoding (`NIM_SPECULATIVE_*`).
    public var speculation = ServeDefaults.speculation
    /// The draft model for `NIM_SPECULATIVE_METHOD=draft` (`NIM_SPECULATIVE_DRAFT_MODEL`): a
    /// path or a cached model name.
    public var draftModel: String?
    /// Serve `/v1/embeddings` from a generation model too (`NIM_ENABLE_EMBEDDINGS`).
    public var enableEmbeddings = ServeDefaults.enableEmbeddings
    /// How a generation model's embeddings are pooled (`NIM_EMBEDDING_POOLING`).
    public var embeddingPooling = ServeDefaults.embeddingPooling
    /// LoRA adapters (`NIM_PEFT_SOURCE` and its limits).
    public var lora = LoRASettings()
    /// Devices and how the model spreads over them (`NIM_SPLIT_MODE` and its rows).
    public var parallel = ParallelSettings()
    /// Where the prefix cache's KV events go (`NIM_KV_EVENTS_*`); off by default.
    public var kvEvents = KVEventSettings()

    /// Creates a configuration with the documented defaults.
    public init(host: String = "0.0.0.0", port: Int = ServeDefaults.port, model: String = ServeDefaults.model,
                cachePath: String = ServeDefaults.cachePath, servedModelName: String? = nil,
                kvCapacity: Int? = nil, maxModelLength: Int = 0,
                maxBatchTokens: Int? = nil, maxRunningSequences: Int? = nil,
                maxWaitingRequests: Int = ServeDefaults.maxQueueRequests,
                maxWaitingTokens: Int = ServeDefaults.maxQueueTokens, threads: Int = 0,
                gpuLayers: Int = ServeDefaults.gpuLayers, maxBodyBytes: Int = ServeDefaults.maxRequestBytes,
                warmUp: Bool = true, prefixCaching: Bool = ServeDefaults.enableKvCacheReuse, policy: SchedulerConfig.Policy = ServeDefaults.schedulerPolicy,
                kvLayout: KVLayout = ServeDefaults.kvLayout, queueTimeout: Double = Double(ServeDefaults.queueTimeoutSeconds)) {
        self.host = host
        self.port = port
        self.model = model
        self.cachePath = cachePath
        self.servedModelName = servedModelName
        self.kvCapacity = kvCapacity
        self.maxModelLength = maxModelLength
        self.maxBatchTokens = maxBatchTokens
        self.maxRunningSequences = maxRunningSequences
        self.maxWaitingRequests = maxWaitingRequests
        self.maxWaitingTokens = maxWaitingTokens
        self.threads = threads
        self.gpuLayers = gpuLayers
        self.maxBodyBytes = maxBodyBytes
        self.warmUp = warmUp
        self.prefixCaching = prefixCaching
        self.policy = policy
        self.kvLayout = kvLayout
        self.queueTimeout = queueTimeout
    }

    /// The queue deadline to put on requests, if any.
    var queueTimeoutIfSet: Double? { queueTimeout > 0 ? queueTimeout : nil }

    /// The model's name in the API: `servedModelName`, or the model file's name.
    public var servedName: String { servedModelName ?? ServedName.forPath(model) }

    /// Whether the engine gets one shared KV pool. Prefix caching works in both layouts
    /// (slot reuse when partitioned, shared blocks when unified), so only asking for it
    /// gives the unified one. LoRA adapters no longer change that: with the engine's
    /// adapter pool (patch 0002) a step mixes any adapters, so the running sequences stay
    /// packed in consecutive slots and a step is one pass, as without adapters. (When a
    /// step ran one adapter's sequences, `auto` was unified on a GPU, where each extra pass
    /// reads every weight again.)
    public var unifiedKV: Bool { kvLayout == .unified }
}

/// How the KV cache is laid out for the engine's sequences.
public enum KVLayout: String, Sendable, CaseIterable {
    /// Partitioned (kept so existing settings still parse).
    case auto
    /// One pool every sequence draws from.
    case unified
    /// A fixed partition per sequence (one KV stream each).
    case partitioned
}

extension ServerConfig {
    /// Why a configuration cannot serve.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        /// One line naming the setting.
        public let description: String

        /// Wraps a reason.
        public init(description: String) { self.description = description }
    }

    /// Refuses values no server could run with, naming the setting: every number against
    /// its row's bounds in the settings table.
    public func validate() throws(Invalid) {
        typealias S = ServeSetting
        let numbers: [(ServeSetting, Double?)] = [
            (S.port, Double(port)), (S.kvCacheTokens, kvCapacity.map(Double.init)),
            (S.kvCacheHostMemMib, Double(hostCacheMiB)), (S.maxBatchTokens, maxBatchTokens.map(Double.init)),
            (S.maxNumSeqs, maxRunningSequences.map(Double.init)),
            (S.maxModelLen, maxModelLength > 0 ? Double(maxModelLength) : nil),
            (S.maxQueueRequests, Double(maxWaitingRequests)), (S.maxQueueTokens, Double(maxWaitingTokens)),
            (S.threads, Double(threads)), (S.gpuLayers, Double(gpuLayers)), (S.maxRequestBytes, Double(maxBodyBytes)),
            (S.maxHeaderBytes, Double(maxHeaderBytes)), (S.queueTimeoutSeconds, queueTimeout),
            (S.drainGraceSeconds, drainGrace), (S.httpIdleTimeoutSeconds, idleTimeout),
            (S.gpuMemoryUtilization, gpuMemoryUtilization),
            (S.speculativeNumTokens, Double(speculation.maxDraftTokens)),
            (S.speculativeNgramMin, Double(speculation.minMatch)), (S.speculativeNgramMax, Double(speculation.maxMatch)),
            (S.speculativeDisableByBatchSize, Double(speculation.disableByBatchSize)),
            (S.peftRefreshInterval, lora.refreshInterval != 0 ? lora.refreshInterval : nil),
            (S.maxGPULoras, Double(lora.maxActive)), (S.maxCPULoras, Double(lora.maxLoaded)), (S.maxLoraRank, Double(lora.maxRank)),
            (S.tensorParallelSize, parallel.tensorParallel.map(Double.init)),
            (S.rpcWaitSeconds, Double(parallel.rpcWaitSeconds)),
            (S.pipelineParallelSize, parallel.pipelineParallel.map(Double.init)),
            (S.kvEventsBufferSteps, Double(kvEvents.bufferSteps)),
        ]
        for (setting, value) in numbers {
            if let value { try setting.check(value, as: ServeSetting.format(value)) }
        }
        if maxModelLength < 0 { try S.maxModelLen.check(Double(maxModelLength), as: "\(maxModelLength)") }
        if let share = kvCachePercent, !(share > 0 && share <= 1) {
            throw Invalid(description: "NIM_KV_CACHE_PERCENT must be in (0, 1] or (1, 100], not \(share)")
        }
        if (speculation.method == .draft) != (draftModel != nil) {
            throw Invalid(description: draftModel == nil
                ? "NIM_SPECULATIVE_METHOD=draft needs NIM_SPECULATIVE_DRAFT_MODEL (--speculative-draft-model)"
                : "NIM_SPECULATIVE_DRAFT_MODEL is set but NIM_SPECULATIVE_METHOD=\(speculation.method.rawValue); set it to draft")
        }
        if lora.maxLoaded < lora.maxActive {
            throw Invalid(description: "NIM_MAX_CPU_LORAS=\(lora.maxLoaded) is less than NIM_MAX_GPU_LORAS=\(lora.maxActive): an adapter must be loaded to run")
        }
        if speculation.minMatch > speculation.maxMatch {
            throw Invalid(description: "NIM_SPECULATIVE_NGRAM_MIN=\(speculation.minMatch) is more than NIM_SPECULATIVE_NGRAM_MAX=\(speculation.maxMatch)")
        }
    }
}

extension ServerConfig {
    /// The configured value of every setting the table does not mark process-only, by its
    /// `NIM_*` name, as `--help` and the README write them (`auto` where the engine chooses;
    /// `/v1/metadata`'s `kv_sizing` says what it chose and why).
    public var settings: [String: String] {
        typealias S = ServeSetting
        func auto(_ value: Int?) -> String { value.map { "\($0)" } ?? "auto" }
        let values: [ServeSetting: String] = [
            S.port: "\(port)", S.model: model, S.cachePath: cachePath, S.servedModelName: servedModelName ?? "auto",
            S.kvCacheTokens: auto(kvCapacity), S.kvCachePercent: kvCachePercent.map { "\($0)" } ?? "auto",
            S.gpuMemoryUtilization: "\(gpuMemoryUtilization)", S.maxModelLen: auto(maxModelLength > 0 ? maxModelLength : nil),
            S.maxBatchTokens: auto(maxBatchTokens), S.maxNumSeqs: auto(maxRunningSequences),
            S.maxQueueRequests: "\(maxWaitingRequests)", S.maxQueueTokens: "\(maxWaitingTokens)",
            S.threads: auto(threads > 0 ? threads : nil), S.gpuLayers: "\(gpuLayers)", S.maxRequestBytes: "\(maxBodyBytes)",
            S.enableKvCacheReuse: ServeDefaults.flag(prefixCaching), S.kvCacheHostMemMib: "\(hostCacheMiB)",
            S.schedulerPolicy: policy.rawValue, S.queueTimeoutSeconds: "\(Int(queueTimeout))",
            S.drainGraceSeconds: "\(Int(drainGrace))", S.kvLayout: kvLayout.rawValue,
            S.metricsRequireAuth: ServeDefaults.flag(metricsRequireAuth), S.perReqMetrics: ServeDefaults.flag(perRequestStats),
            S.maxHeaderBytes: "\(maxHeaderBytes)", S.httpIdleTimeoutSeconds: "\(Int(idleTimeout))",
            S.chatTemplateFile: chatTemplateFile ?? "model", S.reasoningFormat: reasoningFormat.rawValue,
            S.disableLogRequests: ServeDefaults.flag(!logPrompts), S.speculativeMethod: speculation.method.rawValue,
            S.speculativeDraftModel: draftModel ?? "none",
            S.speculativeNumTokens: "\(speculation.maxDraftTokens)", S.speculativeNgramMin: "\(speculation.minMatch)",
            S.speculativeNgramMax: "\(speculation.maxMatch)",
            S.speculativeDisableByBatchSize: "\(speculation.disableByBatchSize)",
            S.enableEmbeddings: ServeDefaults.flag(enableEmbeddings), S.embeddingPooling: embeddingPooling.rawValue,
            S.peftSource: lora.source ?? "none", S.peftRefreshInterval: lora.refreshInterval > 0 ? "\(Int(lora.refreshInterval))" : "none",
            S.maxGPULoras: "\(lora.maxActive)", S.maxCPULoras: "\(lora.maxLoaded)", S.maxLoraRank: "\(lora.maxRank)",
        ]
        return Dictionary(uniqueKeysWithValues: values.merging(parallel.values) { $1 }.merging(kvEvents.values) { $1 }.map { ($0.key.name, $0.value) })
    }
}
