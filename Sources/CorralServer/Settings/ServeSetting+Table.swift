/// The table of every `corral serve` setting. Numbers carry bounds that any engine and
/// socket can hold (llama.cpp counts cells and batch tokens in 32 bits, and allows 256
/// sequences), so an out-of-range value is an error naming the setting, never a crash.
extension ServeSetting {
    private static let int32 = Double(Int32.max)
    private static func flag(_ on: Bool) -> String { ServeDefaults.flag(on) }

    /// `NIM_SERVER_PORT`.
    public static let port = ServeSetting("NIM_SERVER_PORT", flag: "port", default: "\(ServeDefaults.port)",
                                          bounds: 1...65535, "Port")
    /// `NIM_MODEL_NAME`.
    public static let model = ServeSetting("NIM_MODEL_NAME", flag: "model", default: ServeDefaults.model,
                                           "GGUF path, cached model name, or hf://OWNER/REPO/FILE.gguf or http(s):// URL to download into the cache first")
    /// `NIM_CACHE_PATH`.
    public static let cachePath = ServeSetting("NIM_CACHE_PATH", flag: "cache-path", default: ServeDefaults.cachePath,
                                               "Model cache directory")
    /// `NIM_SERVED_MODEL_NAME`.
    public static let servedModelName = ServeSetting("NIM_SERVED_MODEL_NAME", flag: "served-model-name", default: "auto",
                                                     "Model name in the API; auto is the file's name")
    /// `NIM_KV_CACHE_TOKENS`.
    public static let kvCacheTokens = ServeSetting(
        "NIM_KV_CACHE_TOKENS", flag: "kv-cache-tokens", default: "auto", bounds: 16...int32,
        "KV cache cells for all sequences together; auto sizes it from memory (see NIM_GPU_MEMORY_UTILIZATION and NIM_KV_CACHE_PERCENT) up to every sequence's full context")
    /// `NIM_KV_CACHE_PERCENT`.
    public static let kvCachePercent = ServeSetting(
        "NIM_KV_CACHE_PERCENT", flag: "kv-cache-percent", default: "auto", bounds: 0.0001...100,
        "Size the KV cache to this share of the memory left after the weights (GPU free memory, or system/cgroup memory on CPU), 0-1 or 1-100; auto is 0.25 on CPU")
    /// `NIM_GPU_MEMORY_UTILIZATION`.
    public static let gpuMemoryUtilization = ServeSetting(
        "NIM_GPU_MEMORY_UTILIZATION", flag: "gpu-memory-utilization", default: "\(ServeDefaults.gpuMemoryUtilization)",
        bounds: 0.05...1,
        "vLLM's meaning: the share of each GPU's total memory this server may use, weights, KV and work buffers together; the KV cache gets what is left (GPU only)")
    /// `NIM_MAX_MODEL_LEN`.
    public static let maxModelLen = ServeSetting(
        "NIM_MAX_MODEL_LEN", flag: "max-model-len", default: "auto", bounds: 1...int32,
        "Longest sequence, prompt plus output; auto is the model's trained context, capped by what the KV cache holds per sequence")
    /// `NIM_MAX_BATCH_TOKENS`.
    public static let maxBatchTokens = ServeSetting(
        "NIM_MAX_BATCH_TOKENS", flag: "max-batch-tokens", default: "auto", bounds: 1...65536,
        "Tokens per scheduler step; auto is \(ServeDefaults.maxBatchTokensCPU) on CPU, \(ServeDefaults.maxBatchTokensGPU) on GPU")
    /// `NIM_MAX_NUM_SEQS`.
    public static let maxNumSeqs = ServeSetting(
        "NIM_MAX_NUM_SEQS", flag: "max-num-seqs", default: "auto", bounds: 1...256,
        "Sequences running at once; auto is \(ServeDefaults.maxNumSeqsCPU) on CPU, \(ServeDefaults.maxNumSeqsGPU) on GPU")
    /// `NIM_MAX_QUEUE_REQUESTS`.
    public static let maxQueueRequests = ServeSetting(
        "NIM_MAX_QUEUE_REQUESTS", flag: "max-queue-requests", default: "\(ServeDefaults.maxQueueRequests)",
        bounds: 1...int32, "Waiting requests before 429")
    /// `NIM_MAX_QUEUE_TOKENS`.
    public static let maxQueueTokens = ServeSetting(
        "NIM_MAX_QUEUE_TOKENS", flag: "max-queue-tokens", default: "\(ServeDefaults.maxQueueTokens)",
        bounds: 1...1e12, "Waiting prompt tokens before 429")
    /// `NIM_NUM_THREADS`.
    public static let threads = ServeSetting(
        "NIM_NUM_THREADS", flag: "threads", default: "auto", bounds: 0...4096,
        "Engine CPU threads; auto (or 0) is the CPUs this process may use, after affinity and the cgroup quota")
    /// `NIM_GPU_LAYERS`.
    public static let gpuLayers = ServeSetting(
        "NIM_GPU_LAYERS", flag: "gpu-layers", default: "\(ServeDefaults.gpuLayers)", bounds: -1...100_000,
        "Layers to offload to the GPU, -1 for all")
    /// `NIM_MAX_REQUEST_BYTES`.
    public static let maxRequestBytes = ServeSetting(
        "NIM_MAX_REQUEST_BYTES", flag: "max-request-bytes", default: "\(ServeDefaults.maxRequestBytes)",
        bounds: 1024...int32, "Largest request body in bytes")
    /// `NIM_ENABLE_KV_CACHE_REUSE`.
    public static let enableKvCacheReuse = ServeSetting(
        "NIM_ENABLE_KV_CACHE_REUSE", flag: "enable-kv-cache-reuse", default: flag(ServeDefaults.enableKvCacheReuse),
        toggle: true, "Reuse KV of finished prompts for shared prefixes")
    /// `NIM_KV_CACHE_HOST_MEM_MIB`.
    public static let kvCacheHostMemMib = ServeSetting(
        "NIM_KV_CACHE_HOST_MEM_MIB", flag: "kv-cache-host-mem-mib", default: "\(ServeDefaults.kvCacheHostMemMiB)",
        bounds: 0...Double(1 << 30),
        "MiB of host RAM for the prefix cache's second tier (KV of conversations whose slot was reused), 0 for none; capped to a quarter of available memory")
    /// `NIM_SCHEDULER_POLICY`.
    public static let schedulerPolicy = ServeSetting(
        "NIM_SCHEDULER_POLICY", flag: "scheduler-policy", default: ServeDefaults.schedulerPolicy.rawValue,
        "Admission order: fair (priority, then tenants by weight), priority or fcfs")
    /// `NIM_QUEUE_TIMEOUT_SECONDS`.
    public static let queueTimeoutSeconds = ServeSetting(
        "NIM_QUEUE_TIMEOUT_SECONDS", flag: "queue-timeout-seconds", default: "\(ServeDefaults.queueTimeoutSeconds)",
        bounds: 0...int32, "Seconds a request may wait in the queue before a 503; 0 for no limit")
    /// `NIM_DRAIN_GRACE_SECONDS`.
    public static let drainGraceSeconds = ServeSetting(
        "NIM_DRAIN_GRACE_SECONDS", flag: "drain-grace-seconds", default: "\(ServeDefaults.drainGraceSeconds)",
        bounds: 0...int32, "Seconds in-flight requests get to finish after SIGTERM")
    /// `NIM_API_KEYS_FILE`.
    public static let apiKeysFile = ServeSetting(
        "NIM_API_KEYS_FILE", flag: "api-keys-file", default: "none", processOnly: true,
        "File of API keys, one per line; clients send Authorization: Bearer <key>; none means no auth")
    /// `NIM_KV_LAYOUT`.
    public static let kvLayout = ServeSetting(
        "NIM_KV_LAYOUT", flag: "kv-layout", default: ServeDefaults.kvLayout.rawValue,
        "KV layout: auto (partitioned), unified or partitioned")
    /// `NIM_JSONL_LOGGING`.
    public static let jsonlLogging = ServeSetting(
        "NIM_JSONL_LOGGING", flag: "jsonl-logging", default: "0", toggle: true, processOnly: true, "JSON-lines logs")
    /// `NIM_LOG_LEVEL`.
    public static let logLevel = ServeSetting(
        "NIM_LOG_LEVEL", flag: "log-level", default: "DEFAULT", processOnly: true,
        "Log level: NIM's DEFAULT (info), TRACE, DEBUG, INFO, WARNING, ERROR or CRITICAL, in any case; DEBUG and TRACE add llama.cpp's own log")
    /// `NIM_METRICS_REQUIRE_AUTH`.
    public static let metricsRequireAuth = ServeSetting(
        "NIM_METRICS_REQUIRE_AUTH", flag: "metrics-require-auth", default: flag(ServeDefaults.metricsRequireAuth),
        toggle: true, "Require an API key for /v1/metrics too when keys are set")
    /// `NIM_PER_REQ_METRICS_ENABLE`.
    public static let perReqMetrics = ServeSetting(
        "NIM_PER_REQ_METRICS_ENABLE", flag: "per-req-metrics", default: flag(ServeDefaults.perReqMetrics),
        toggle: true, "Add a stats object (queue time, TTFT, ITL, tokens/s) to each response")
    /// `NIM_METRICS_TTFT_BUCKETS`.
    public static let metricsTtftBuckets = ServeSetting(
        "NIM_METRICS_TTFT_BUCKETS", flag: "metrics-ttft-buckets", default: "0.001..80", processOnly: true,
        "Time-to-first-token and queue-time histogram bounds, seconds, comma-separated")
    /// `NIM_METRICS_ITL_BUCKETS`.
    public static let metricsItlBuckets = ServeSetting(
        "NIM_METRICS_ITL_BUCKETS", flag: "metrics-itl-buckets", default: "0.001..2.5", processOnly: true,
        "Time-per-output-token and step-duration histogram bounds, seconds")
    /// `NIM_METRICS_E2E_BUCKETS`.
    public static let metricsE2eBuckets = ServeSetting(
        "NIM_METRICS_E2E_BUCKETS", flag: "metrics-e2e-buckets", default: "0.05..960", processOnly: true,
        "End-to-end latency histogram bounds, seconds")
    /// `NIM_SSL_MODE`.
    public static let sslMode = ServeSetting(
        "NIM_SSL_MODE", flag: "ssl-mode", default: "DISABLED", processOnly: true, "TLS: DISABLED, TLS or MTLS")
    /// `NIM_SSL_KEY_PATH`.
    public static let sslKeyPath = ServeSetting(
        "NIM_SSL_KEY_PATH", flag: "ssl-key-path", default: "none", processOnly: true, "PEM private key for TLS")
    /// `NIM_SSL_CERTS_PATH`.
    public static let sslCertsPath = ServeSetting(
        "NIM_SSL_CERTS_PATH", flag: "ssl-certs-path", default: "none", processOnly: true,
        "PEM certificate chain for TLS, leaf first")
    /// `NIM_SSL_CA_CERTS_PATH`.
    public static let sslCaCertsPath = ServeSetting(
        "NIM_SSL_CA_CERTS_PATH", flag: "ssl-ca-certs-path", default: "none", processOnly: true,
        "PEM CA certificates that sign client certificates, for MTLS")
    /// `NIM_MAX_HEADER_BYTES`.
    public static let maxHeaderBytes = ServeSetting(
        "NIM_MAX_HEADER_BYTES", flag: "max-header-bytes", default: "\(ServeDefaults.maxHeaderBytes)",
        bounds: 1024...Double(1 << 24), "Largest request line plus headers, bytes; more gets 431")
    /// `NIM_HTTP_IDLE_TIMEOUT_SECONDS`.
    public static let httpIdleTimeoutSeconds = ServeSetting(
        "NIM_HTTP_IDLE_TIMEOUT_SECONDS", flag: "http-idle-timeout-seconds", default: "\(ServeDefaults.httpIdleTimeoutSeconds)",
        bounds: 0...int32, "Seconds an idle connection stays open; 0 for no limit")
    /// `NIM_CHAT_TEMPLATE_FILE`.
    public static let chatTemplateFile = ServeSetting(
        "NIM_CHAT_TEMPLATE_FILE", flag: "chat-template-file", default: "model",
        "A Jinja chat template to use instead of the model's, rendered as llama-server renders it; model is the template in the GGUF")
    /// `NIM_REASONING_FORMAT`.
    public static let reasoningFormat = ServeSetting(
        "NIM_REASONING_FORMAT", flag: "reasoning-format", default: ServeDefaults.reasoningFormat.rawValue,
        "A thinking model's reasoning: split (into reasoning_content), inline (left in content) or hidden")
    /// `NIM_DISABLE_LOG_REQUESTS`.
    public static let disableLogRequests = ServeSetting(
        "NIM_DISABLE_LOG_REQUESTS", flag: "disable-log-requests", default: flag(ServeDefaults.disableLogRequests),
        toggle: true, "1 keeps prompts and completions out of the logs; 0 logs them")
    /// `NIM_SPECULATIVE_METHOD`.
    public static let speculativeMethod = ServeSetting(
        "NIM_SPECULATIVE_METHOD", flag: "speculative-method", default: ServeDefaults.speculativeMethod.rawValue,
        "Speculative decoding: ngram (draft tokens looked up in the sequence's own prompt and output, verified in the same step; output is unchanged), draft (a draft model, NIM_SPECULATIVE_DRAFT_MODEL) or off")
    /// `NIM_SPECULATIVE_DRAFT_MODEL`.
    public static let speculativeDraftModel = ServeSetting(
        "NIM_SPECULATIVE_DRAFT_MODEL", flag: "speculative-draft-model", default: "none",
        "With NIM_SPECULATIVE_METHOD=draft: a small GGUF with the served model's vocabulary (a path or a cached model name) that drafts greedily on its own context")
    /// `NIM_SPECULATIVE_NUM_TOKENS`.
    public static let speculativeNumTokens = ServeSetting(
        "NIM_SPECULATIVE_NUM_TOKENS", flag: "speculative-num-tokens", default: "\(ServeDefaults.speculativeNumTokens)",
        bounds: 1...64, "Most draft tokens a sequence verifies per step")
    /// `NIM_SPECULATIVE_NGRAM_MIN`.
    public static let speculativeNgramMin = ServeSetting(
        "NIM_SPECULATIVE_NGRAM_MIN", flag: "speculative-ngram-min", default: "\(ServeDefaults.speculativeNgramMin)",
        bounds: 1...64, "Shortest run of a sequence's last tokens that must recur in it for an ngram draft")
    /// `NIM_SPECULATIVE_NGRAM_MAX`.
    public static let speculativeNgramMax = ServeSetting(
        "NIM_SPECULATIVE_NGRAM_MAX", flag: "speculative-ngram-max", default: "\(ServeDefaults.speculativeNgramMax)",
        bounds: 1...64, "Longest run of a sequence's last tokens looked up first for an ngram draft")
    /// `NIM_SPECULATIVE_DISABLE_BY_BATCH_SIZE`.
    public static let speculativeDisableByBatchSize = ServeSetting(
        "NIM_SPECULATIVE_DISABLE_BY_BATCH_SIZE", flag: "speculative-disable-by-batch-size",
        default: "\(ServeDefaults.speculativeDisableByBatchSize)", bounds: 0...256,
        "A step with more decoding sequences than this carries no drafts (the batch already keeps the engine busy)")

    /// Every row, in `--help` order.
    /// `NIM_ENABLE_EMBEDDINGS`.
    public static let enableEmbeddings = ServeSetting(
        "NIM_ENABLE_EMBEDDINGS", flag: "embeddings", default: flag(ServeDefaults.enableEmbeddings), toggle: true,
        "Serve /v1/embeddings from a generation model too (an embedding model, with pooling_type in its GGUF, serves it always)")
    /// `NIM_EMBEDDING_POOLING`.
    public static let embeddingPooling = ServeSetting(
        "NIM_EMBEDDING_POOLING", flag: "pooling", default: ServeDefaults.embeddingPooling.rawValue,
        "How a generation model's embeddings are pooled: none, mean, cls or last (an embedding model uses its own); none serves no /v1/embeddings")

    /// `NIM_PEFT_SOURCE`.
    public static let peftSource = ServeSetting(
        "NIM_PEFT_SOURCE", flag: "peft-source", default: "none",
        "Folder of LoRA adapters for the served model: <name>/ holding one adapter .gguf, or <name>.gguf; clients select one by sending its name as the model")
    /// `NIM_PEFT_REFRESH_INTERVAL`.
    public static let peftRefreshInterval = ServeSetting(
        "NIM_PEFT_REFRESH_INTERVAL", flag: "peft-refresh-interval", default: "none", bounds: 1...86400,
        "Seconds between rescans of NIM_PEFT_SOURCE (adapters added are loaded, removed ones drain and unload); none scans once at startup")
    /// `NIM_MAX_GPU_LORAS`.
    public static let maxGPULoras = ServeSetting(
        "NIM_MAX_GPU_LORAS", flag: "max-loras", default: "\(ServeDefaults.maxGPULoras)", bounds: 1...256,
        "Most LoRA adapters with running requests at once (vLLM's --max-loras); requests for another adapter wait their turn")
    /// `NIM_MAX_CPU_LORAS`.
    public static let maxCPULoras = ServeSetting(
        "NIM_MAX_CPU_LORAS", flag: "max-cpu-loras", default: "\(ServeDefaults.maxCPULoras)", bounds: 1...1024,
        "Most LoRA adapters loaded at once (the engine keeps each where the weights are); adapters found beyond it are listed in /v1/metadata as not loaded")
    /// `NIM_MAX_LORA_RANK`.
    public static let maxLoraRank = ServeSetting(
        "NIM_MAX_LORA_RANK", flag: "max-lora-rank", default: "\(ServeDefaults.maxLoraRank)", bounds: 1...4096,
        "Largest LoRA adapter rank accepted; a larger adapter is skipped with the reason in /v1/metadata")

    public static let all: [ServeSetting] = [
        port, model, cachePath, servedModelName, kvCacheTokens, kvCachePercent, gpuMemoryUtilization, maxModelLen,
        maxBatchTokens, maxNumSeqs, maxQueueRequests, maxQueueTokens, threads, gpuLayers, maxRequestBytes,
        enableKvCacheReuse, kvCacheHostMemMib, schedulerPolicy, queueTimeoutSeconds, drainGraceSeconds, apiKeysFile,
        kvLayout, jsonlLogging, logLevel, metricsRequireAuth, perReqMetrics, metricsTtftBuckets, metricsItlBuckets,
        metricsE2eBuckets, sslMode, sslKeyPath, sslCertsPath, sslCaCertsPath, maxHeaderBytes, httpIdleTimeoutSeconds,
        chatTemplateFile, reasoningFormat, disableLogRequests, speculativeMethod, speculativeDraftModel, speculativeNumTokens,
        speculativeNgramMin, speculativeNgramMax, speculativeDisableByBatchSize,
        enableEmbeddings, embeddingPooling, peftSource, peftRefreshInterval, maxGPULoras, maxCPULoras, maxLoraRank,
    ] + parallel + kvEvents
}
