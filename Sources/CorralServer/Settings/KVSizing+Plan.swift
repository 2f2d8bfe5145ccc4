import CorralCore

extension KVSizing {
    /// The memory a plan draws on, measured by the engine once the weights are loaded.
    public struct Memory: Sendable, Equatable {
        /// Whether layers run on a GPU (the GPU defaults apply).
        public var onGPU: Bool
        /// Free bytes now: on a GPU what its memory has left with the weights in it; on a CPU
        /// the memory this process may still use (the cgroup's limit first) less the weights.
        public var freeBytes: Int
        /// The GPUs' total memory; on a CPU, the same as `freeBytes`.
        public var totalBytes: Int
        /// Where `freeBytes` came from: `gpu`, `cgroup` or `system`.
        public var source: String
        /// The devices, as the engine names them.
        public var devices: [String]

        /// Creates a value; see each property.
        public init(onGPU: Bool, freeBytes: Int, totalBytes: Int, source: String, devices: [String] = []) {
            self.onGPU = onGPU
            self.freeBytes = freeBytes
            self.totalBytes = totalBytes
            self.source = source
            self.devices = devices
        }
    }

    /// Works out the engine's sizes, as vLLM and llama-server would: sequences and step
    /// tokens by device; the KV cache from memory (a GPU's share of its total memory, or a
    /// bounded share of the host's), never more than every sequence's full context; and
    /// `max_model_len` as the model's trained context, capped by what one sequence's share
    /// of the cache holds. A value the operator set is used as given, and one that cannot
    /// be honoured is an error naming it, never a silent clamp.
    /// - Parameters:
    ///   - bytesPerToken: KV bytes per token (layers with KV heads only, so `deci` layers
    ///     without attention cost nothing).
    ///   - trainedContext: the GGUF's context length, 0 when it states none.
    public static func plan(_ config: ServerConfig, memory: Memory, bytesPerToken: Int,
                            trainedContext: Int) throws(ServerConfig.Invalid) -> KVSizing {
        var reasons: [String: String] = [:]
        let device = memory.onGPU ? "gpu" : "cpu"
        let seqs = config.maxRunningSequences ?? (memory.onGPU ? ServeDefaults.maxNumSeqsGPU : ServeDefaults.maxNumSeqsCPU)
        if config.maxRunningSequences == nil { reasons["max_num_seqs"] = "the \(device) default" }
        let batch = config.maxBatchTokens ?? (memory.onGPU ? ServeDefaults.maxBatchTokensGPU : ServeDefaults.maxBatchTokensCPU)
        if config.maxBatchTokens == nil { reasons["max_batch_tokens"] = "the \(device) default" }
        let trained = trainedContext > 0 ? trainedContext : ServeDefaults.fallbackContext
        let length = config.maxModelLength > 0 ? config.maxModelLength : trained
        // Partitioned: one partition per sequence, in whole 256-cell blocks as llama.cpp
        // pads them. Unified: one pool, so a sequence may use all of it.
        let partitions = config.unifiedKV ? 1 : seqs
        let perToken = max(bytesPerToken, 1)
        let wanted = seqs * roundUp(length, to: 256)

        var sizing = KVSizing(mode: "fixed", tokens: config.kvCapacity ?? 0, bytesPerToken: perToken, device: device,
                              maxNumSeqs: seqs, maxBatchTokens: batch)
        sizing.devices = memory.devices
        if config.kvCapacity == nil {
            let budget: Int
            if let share = config.kvCachePercent {
                (sizing.mode, sizing.percent) = ("percent", share)
                budget = Int(Double(memory.freeBytes) * share)
            } else if memory.onGPU {
                (sizing.mode, sizing.percent) = ("gpu_memory_utilization", config.gpuMemoryUtilization)
                budget = KVBudget.bytes(totalBytes: memory.totalBytes, utilization: config.gpuMemoryUtilization,
                                        usedBytes: memory.totalBytes - memory.freeBytes,
                                        reserveBytes: ServeDefaults.gpuReserveBytes)
            } else {
                (sizing.mode, sizing.percent) = ("host_memory", ServeDefaults.cpuKVShare)
                budget = Int(Double(memory.freeBytes) * ServeDefaults.cpuKVShare)
            }
            (sizing.freeBytes, sizing.memorySource) = (memory.freeBytes, memory.source)
            let block = 256 * partitions
            let fromMemory = KVBudget.tokens(budgetBytes: budget, bytesPerToken: perToken, block: block)
            sizing.tokens = min(fromMemory, wanted)
            let share = "\(Int((sizing.percent ?? 0) * 100))% (\(sizing.mode)) of \(memory.freeBytes >> 20) MiB free (\(memory.source))"
            reasons["kv_tokens"] = sizing.tokens == wanted
                ? "\(seqs) sequences x \(length) tokens; \(share) would hold \(fromMemory)"
                : "\(share) at \(perToken) bytes per token"
            guard sizing.tokens >= 256 * partitions else {
                throw ServerConfig.Invalid(description:
                    "not enough memory for the KV cache: \(share) holds \(fromMemory) tokens, under 256 per sequence "
                    + "for \(seqs); set NIM_KV_CACHE_TOKENS (--kv-cache-tokens) or lower NIM_MAX_NUM_SEQS (--max-num-seqs)")
            }
        }

        let perSequence = config.unifiedKV ? sizing.tokens : sizing.tokens / seqs
        if config.maxModelLength > 0 {
            guard config.maxModelLength <= perSequence else {
                throw ServerConfig.Invalid(description:
                    "NIM_MAX_MODEL_LEN=\(config.maxModelLength) (--max-model-len) cannot be honoured: the KV cache holds "
                    + "\(perSequence) tokens per sequence (\(sizing.tokens) for \(seqs) sequences, \(sizing.mode)); lower it "
                    + "or NIM_MAX_NUM_SEQS (--max-num-seqs), or give the cache more (NIM_KV_CACHE_TOKENS)")
            }
            sizing.maxModelLen = config.maxModelLength
            if config.maxModelLength > trained {
                reasons["max_model_len"] = "set beyond the model's trained context of \(trained)"
            }
        } else {
            sizing.maxModelLen = min(trained, perSequence)
            reasons["max_model_len"] = sizing.maxModelLen == trained
                ? (trainedContext > 0 ? "the model's trained context" : "the GGUF states no context; \(trained) assumed")
                : "capped from the trained \(trained): the KV cache holds \(perSequence) tokens per sequence "
                  + "(\(sizing.tokens) cells for \(seqs) sequences); raise NIM_KV_CACHE_TOKENS or lower NIM_MAX_NUM_SEQS"
        }
        sizing.reasons = reasons
        return sizing
    }

    private static func roundUp(_ value: Int, to step: Int) -> Int { (value + step - 1) / step * step }
}
