public import Scheduler
import CorralCore

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
    /// KV cells of the unified cache (context of all sequences together).
    public var kvCapacity: Int
    /// Longest single sequence (`NIM_MAX_MODEL_LEN`); 0 means the KV capacity.
    public var maxModelLength: Int
    /// Scheduler step budget in tokens (`NIM_MAX_BATCH_TOKENS`).
    public var maxBatchTokens: Int
    /// Running sequences at once (`NIM_MAX_NUM_SEQS`).
    public var maxRunningSequences: Int
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

    /// Creates a configuration with the documented defaults.
    public init(host: String = "0.0.0.0", port: Int = ServeDefaults.port, model: String = ServeDefaults.model,
                cachePath: String = ServeDefaults.cachePath, servedModelName: String? = nil,
                kvCapacity: Int = ServeDefaults.kvCacheTokens, maxModelLength: Int = 0,
                maxBatchTokens: Int = ServeDefaults.maxBatchTokens, maxRunningSequences: Int = ServeDefaults.maxNumSeqs,
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
    /// gives the unified one.
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

    /// Refuses values no server could run with, naming the setting.
    public func validate() throws(Invalid) {
        func check(_ ok: Bool, _ why: @autoclosure () -> String) throws(Invalid) {
            if !ok { throw Invalid(description: why()) }
        }
        try check((1...65535).contains(port), "NIM_SERVER_PORT=\(port) is outside 1...65535")
        try check(kvCapacity >= 16, "NIM_KV_CACHE_TOKENS=\(kvCapacity): the KV cache needs at least 16 tokens")
        try check((0...1 << 30).contains(hostCacheMiB), "NIM_KV_CACHE_HOST_MEM_MIB must be between 0 and \(1 << 30), not \(hostCacheMiB)")
        try check(maxBatchTokens >= 1, "NIM_MAX_BATCH_TOKENS must be at least 1, not \(maxBatchTokens)")
        try check(maxRunningSequences >= 1, "NIM_MAX_NUM_SEQS must be at least 1, not \(maxRunningSequences)")
        try check(maxModelLength >= 0, "NIM_MAX_MODEL_LEN must not be negative")
        try check(maxWaitingRequests >= 1, "NIM_MAX_QUEUE_REQUESTS must be at least 1")
        try check(maxWaitingTokens >= 1, "NIM_MAX_QUEUE_TOKENS must be at least 1")
        try check(maxBodyBytes >= 1024, "NIM_MAX_REQUEST_BYTES must be at least 1024")
        try check(maxHeaderBytes >= 1024, "NIM_MAX_HEADER_BYTES must be at least 1024")
        try check(queueTimeout >= 0, "NIM_QUEUE_TIMEOUT_SECONDS must not be negative")
        try check(drainGrace >= 0, "NIM_DRAIN_GRACE_SECONDS must not be negative")
        try check(idleTimeout >= 0, "NIM_HTTP_IDLE_TIMEOUT_SECONDS must not be negative")
        if let share = kvCachePercent { try check(share > 0 && share <= 1, "NIM_KV_CACHE_PERCENT must be in (0, 1]") }
    }
}

extension ServerConfig {
    /// The effective value of every setting `ServeDefaults` has a default for, by its
    /// `NIM_*` name, as `--help` and the README write them (for `/v1/metadata`).
    public var settings: [String: String] {
        ["NIM_SERVER_PORT": "\(port)", "NIM_MODEL_NAME": model, "NIM_CACHE_PATH": cachePath,
         "NIM_KV_CACHE_TOKENS": "\(kvCapacity)", "NIM_MAX_BATCH_TOKENS": "\(maxBatchTokens)",
         "NIM_MAX_NUM_SEQS": "\(maxRunningSequences)", "NIM_MAX_QUEUE_REQUESTS": "\(maxWaitingRequests)",
         "NIM_MAX_QUEUE_TOKENS": "\(maxWaitingTokens)", "NIM_GPU_LAYERS": "\(gpuLayers)",
         "NIM_MAX_REQUEST_BYTES": "\(maxBodyBytes)", "NIM_QUEUE_TIMEOUT_SECONDS": "\(Int(queueTimeout))",
         "NIM_DRAIN_GRACE_SECONDS": "\(Int(drainGrace))", "NIM_MAX_HEADER_BYTES": "\(maxHeaderBytes)",
         "NIM_HTTP_IDLE_TIMEOUT_SECONDS": "\(Int(idleTimeout))", "NIM_SCHEDULER_POLICY": policy.rawValue,
         "NIM_KV_LAYOUT": kvLayout.rawValue, "NIM_ENABLE_KV_CACHE_REUSE": ServeDefaults.flag(prefixCaching),
         "NIM_KV_CACHE_HOST_MEM_MIB": "\(hostCacheMiB)",
         "NIM_METRICS_REQUIRE_AUTH": ServeDefaults.flag(metricsRequireAuth),
         "NIM_PER_REQ_METRICS_ENABLE": ServeDefaults.flag(perRequestStats),
         "NIM_DISABLE_LOG_REQUESTS": ServeDefaults.flag(!logPrompts),
         "NIM_REASONING_FORMAT": reasoningFormat.rawValue]
    }
}
