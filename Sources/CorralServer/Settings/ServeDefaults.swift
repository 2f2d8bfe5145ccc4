public import CorralCore
public import Scheduler

/// The default values behind the settings table (`ServeSetting.all`), and the constants of
/// the sizing rules (`KVSizing.plan`). `pytests/test_config_defaults.py` checks the README's
/// table against `--help`, and `/v1/metadata`'s `settings` against both.
public enum ServeDefaults {
    /// `NIM_SERVER_PORT`.
    public static let port = 8000
    /// `NIM_MODEL_NAME`.
    public static let model = "SmolLM2-135M-Instruct"
    /// `NIM_CACHE_PATH`.
    public static let cachePath = "/opt/nim/.cache"
    /// `NIM_MAX_BATCH_TOKENS` on a CPU: a step's time grows with every token there, so a
    /// longer step only delays the decoding sequences beside a prompt.
    public static let maxBatchTokensCPU = 512
    /// `NIM_MAX_BATCH_TOKENS` on a GPU (llama-server's `n_batch`): prompts cost little
    /// beside decodes, and the engine splits the batch into 512-token ubatches.
    public static let maxBatchTokensGPU = 2048
    /// `NIM_MAX_NUM_SEQS` on a CPU: 16 streams fill two cores; more only lengthen each step.
    public static let maxNumSeqsCPU = 16
    /// `NIM_MAX_NUM_SEQS` on a GPU: decode steps cost nearly the same up to here, so
    /// throughput grows with the batch (32 gave 10.3x one stream on an H200).
    public static let maxNumSeqsGPU = 64
    /// `NIM_GPU_MEMORY_UTILIZATION`: vLLM's default share of a GPU's total memory.
    public static let gpuMemoryUtilization = 0.9
    /// The share of the host memory left after the weights that the KV cache takes by
    /// default on a CPU (the host tier of the prefix cache takes up to another quarter).
    public static let cpuKVShare = 0.25
    /// GPU memory kept back for llama.cpp's work buffers when sizing the KV from memory.
    public static let gpuReserveBytes = 1 << 30
    /// The context assumed when a GGUF states none.
    public static let fallbackContext = 4096
    /// `NIM_MAX_QUEUE_REQUESTS`.
    public static let maxQueueRequests = 256
    /// `NIM_MAX_QUEUE_TOKENS`.
    public static let maxQueueTokens = 262_144
    /// `NIM_GPU_LAYERS`: -1 offloads every layer when a GPU exists.
    public static let gpuLayers = -1
    /// `NIM_MAX_REQUEST_BYTES`.
    public static let maxRequestBytes = 4 << 20
    /// `NIM_QUEUE_TIMEOUT_SECONDS`: 0 waits as long as it takes.
    public static let queueTimeoutSeconds = 0
    /// `NIM_DRAIN_GRACE_SECONDS`.
    public static let drainGraceSeconds = 30
    /// `NIM_MAX_HEADER_BYTES`.
    public static let maxHeaderBytes = 32 * 1024
    /// `NIM_HTTP_IDLE_TIMEOUT_SECONDS`.
    public static let httpIdleTimeoutSeconds = 75
    /// `NIM_SCHEDULER_POLICY`.
    public static let schedulerPolicy = SchedulerConfig.Policy.fair
    /// `NIM_KV_LAYOUT`.
    public static let kvLayout = KVLayout.auto
    /// `NIM_ENABLE_KV_CACHE_REUSE`: prefix caching is on, as in vLLM and llama-server.
    public static let enableKvCacheReuse = true
    /// `NIM_KV_CACHE_HOST_MEM_MIB`: the prefix cache's host-RAM tier (llama-server's
    /// `--cache-ram` is 8192), capped at startup to a quarter of the memory available.
    public static let kvCacheHostMemMiB = 4096
    /// `NIM_METRICS_REQUIRE_AUTH`.
    public static let metricsRequireAuth = false
    /// `NIM_PER_REQ_METRICS_ENABLE`.
    public static let perReqMetrics = false
    /// `NIM_DISABLE_LOG_REQUESTS`: prompts stay out of the logs.
    public static let disableLogRequests = true

    /// `NIM_SPECULATIVE_METHOD`: prompt lookup costs nothing to propose, and a draft is
    /// verified only where the sequence's last tokens recur.
    public static let speculativeMethod = SpeculationConfig.Method.ngram
    /// `NIM_SPECULATIVE_NUM_TOKENS` (llama-server's `--draft-max` is 16; vLLM has no default).
    public static let speculativeNumTokens = 8
    /// `NIM_SPECULATIVE_NGRAM_MIN` (vLLM's `prompt_lookup_min`).
    public static let speculativeNgramMin = 2
    /// `NIM_SPECULATIVE_NGRAM_MAX` (vLLM's `prompt_lookup_max`).
    public static let speculativeNgramMax = 4
    /// `NIM_SPECULATIVE_DISABLE_BY_BATCH_SIZE`: measured on a 2-core CPU, where a batch
    /// position costs almost as much as a decode step, drafts paid at 2 decoding sequences
    /// (1.32x) and cost at 4 (0.92x); unmeasured on a GPU, where it likely pays further.
    public static let speculativeDisableByBatchSize = 2

    /// `NIM_MAX_GPU_LORAS`: adapters with running requests at once (NIM's default).
    public static let maxGPULoras = 8
    /// `NIM_MAX_CPU_LORAS`: adapters loaded at once (NIM's default).
    public static let maxCPULoras = 16
    /// `NIM_MAX_LORA_RANK`: the largest adapter rank (NIM's default).
    public static let maxLoraRank = 32

    /// The speculation settings the defaults give.
    public static var speculation: SpeculationConfig {
        SpeculationConfig(method: speculativeMethod, maxDraftTokens: speculativeNumTokens, minMatch: speculativeNgramMin,
                          maxMatch: speculativeNgramMax, disableByBatchSize: speculativeDisableByBatchSize)
    }

    /// `NIM_REASONING_FORMAT`: a thinking model's reasoning goes to `reasoning_content`.
    public static let reasoningFormat = ReasoningFormat.split

    /// `NIM_ENABLE_EMBEDDINGS`: a generation model serves generation only.
    public static let enableEmbeddings = false
    /// `NIM_EMBEDDING_POOLING`: llama-server's default for `--embeddings`.
    public static let embeddingPooling = EmbeddingPooling.mean

    /// A boolean as the settings write it.
    public static func flag(_ value: Bool) -> String { value ? "1" : "0" }
}
