public import CorralCore
import CLlama

/// An inference context: the KV cache and the compute buffers for one model.
///
/// Not thread-safe. One thread (the scheduler's engine thread) owns a context and makes
/// every call on it; all calls block. The batch is allocated once and reused, so a decode
/// step allocates nothing per token.
public final class LlamaContext {
    /// Settings for a context.
    public struct Options: Sendable {
        /// KV cells in the unified cache, shared by all sequences.
        public var contextLength: Int
        /// Most tokens one `decode()` may carry.
        public var batchCapacity: Int
        /// Most concurrent sequence ids.
        public var maxSequences: Int
        /// CPU threads; 0 picks the engine default.
        public var threads: Int
        /// Flash attention; `nil` lets the engine decide. `deci` models need it on.
        public var flashAttention: Bool?
        /// One KV pool shared by all sequences (cells can be shared between them), or one
        /// partition of `contextLength / maxSequences` cells per sequence. Unified needs
        /// less memory and allows prefix sharing, but every token attends over the whole
        /// pool's used cells, which costs CPU time at high concurrency.
        public var unifiedKV: Bool
        /// How embedding inputs are pooled; `nil` when the context computes no embeddings.
        public var pooling: EmbeddingPooling?

        /// Creates options.
        public init(contextLength: Int = 4096, batchCapacity: Int = 512, maxSequences: Int = 1,
                    threads: Int = 0, flashAttention: Bool? = nil, unifiedKV: Bool = true,
                    pooling: EmbeddingPooling? = nil) {
            self.pooling = pooling
            self.contextLength = contextLength
            self.batchCapacity = batchCapacity
            self.maxSequences = maxSequences
            self.threads = threads
            self.flashAttention = flashAttention
            self.unifiedKV = unifiedKV
        }
    }

    /// The model this context runs.
    public let model: LlamaModel
    /// KV cells available (all sequences together).
    public let contextLength: Int
    /// Most tokens per decode.
    public let batchCapacity: Int
    /// Most sequence ids.
    public let maxSequences: Int
    /// Whether all sequences share one KV pool.
    public let unifiedKV: Bool
    /// KV cells one sequence can use: the whole pool, or its partition.
    public let sequenceCapacity: Int
    /// Most tokens the engine computes in one pass (`n_ubatch`): an embedding input must
    /// fit one, since the pool is taken per pass.
    public let passCapacity: Int
    /// How embedding inputs are pooled; `nil` when this context computes none.
    public let pooling: EmbeddingPooling?

    let pointer: OpaquePointer
    private var batch: llama_batch
    private let memory: llama_memory_t

    /// Creates a context with a unified KV cache.
    /// - Throws: `.contextCreationFailed` when the engine cannot allocate it.
    public init(model: LlamaModel, options: Options) throws(LlamaError) {
        guard options.contextLength > 0, options.batchCapacity > 0, options.maxSequences > 0 else {
            throw .invalidArgument("context length, batch capacity and sequences must be positive")
        }
        var params = llama_context_default_params()
        params.n_ctx = UInt32(options.contextLength)
        params.n_batch = UInt32(options.batchCapacity)
        params.n_ubatch = UInt32(min(options.batchCapacity, 512))
        params.n_seq_max = UInt32(options.maxSequences)
        params.kv_unified = options.unifiedKV
        params.no_perf = true
        if let pooling = options.pooling {
            // Pooling is fixed when the context is made; `llama_set_embeddings` turns the
            // pooled output on for an embedding pass only, so generation is unchanged.
            params.pooling_type = llama_pooling_type(rawValue: Int32(pooling.ggufValue))
        }
        if options.threads > 0 {
            params.n_threads = Int32(options.threads)
            params.n_threads_batch = Int32(options.threads)
        }
        switch options.flashAttention {
        case .some(true): params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED
        case .some(false): params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED
        case .none: params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_AUTO
        }
        _ = EngineLog.takeLastError()
        guard let ctx = llama_init_from_model(model.pointer, params) else {
            throw .contextCreationFailed(EngineLog.takeLastError())
        }
        self.pointer = ctx
        self.model = model
        self.contextLength = Int(llama_n_ctx(ctx))
        self.batchCapacity = Int(llama_n_batch(ctx))
        self.maxSequences = Int(llama_n_seq_max(ctx))
        self.unifiedKV = options.unifiedKV
        self.sequenceCapacity = Int(llama_n_ctx_seq(ctx))
        self.passCapacity = Int(llama_n_ubatch(ctx))
        self.pooling = options.pooling
        self.memory = llama_get_memory(ctx)
        self.batch = llama_batch_init(Int32(batchCapacity), 0, 1)
    }

    deinit {
        llama_batch_free(batch)
        llama_free(pointer)
    }

    // MARK: Batch

    /// Tokens queued for the next `decode()`.
    public var batchCount: Int { Int(batch.n_tokens) }

    /// Empties the batch.
    public func clearBatch() { batch.n_tokens = 0 }

    /// Queues one token of `sequence` at `position`.
    /// - Parameter wantsLogits: compute logits for this token (the last of a prompt chunk,
    ///   or every decode token).
    /// - Returns: the batch index to sample from when `wantsLogits`.
    @discardableResult
    public func add(token: Token, position: Int, sequence: Int, wantsLogits: Bool) throws(LlamaError) -> Int {
        let i = Int(batch.n_tokens)
        guard i < batchCapacity else { throw .batchOverflow(i + 1, capacity: batchCapacity) }
        guard model.isValidToken(token) else { throw .invalidArgument("token \(token) is outside the vocabulary") }
        guard sequence >= 0, sequence < maxSequences else { throw .invalidArgument("sequence \(sequence) out of range") }
        batch.token[i] = token
        batch.pos[i] = Int32(position)
        batch.n_seq_id[i] = 1
        batch.seq_id[i]![0] = Int32(sequence)
        batch.logits[i] = wantsLogits ? 1 : 0
        batch.n_tokens += 1
        return i
    }

    /// Runs the queued batch through the model, filling the KV cache and logits.
    public func decode() throws(LlamaError) {
        guard batch.n_tokens > 0 else { return }
        let status = llama_decode(pointer, batch)
        if status != 0 { throw .decodeFailed(status) }
    }

    /// Waits until the last decode's compute has finished (a GPU runs it asynchronously).
    public func synchronize() { llama_synchronize(pointer) }

    /// Puts the last decode's outputs in batch order. The first logits read does this;
    /// after it, reading rows changes nothing, so different rows may be read (and
    /// sampled) from several threads at once.
    public func prepareOutputs() { _ = llama_get_logits(pointer) }

    // MARK: KV cache

    /// Drops all KV of `sequence`.
    public func removeSequence(_ sequence: Int) {
        _ = llama_memory_seq_rm(memory, Int32(sequence), -1, -1)
    }

    /// Gives `destination` the KV of `source` for positions `[0, length)`. In a unified
    /// cache this tags the same cells, so they are shared; across partitions the engine
    /// copies the whole partition, and the tail is dropped.
    public func copySequence(from source: Int, to destination: Int, length: Int) {
        if unifiedKV {
            llama_memory_seq_cp(memory, Int32(source), Int32(destination), 0, Int32(length))
        } else {
            llama_memory_seq_cp(memory, Int32(source), Int32(destination), -1, -1)
            _ = llama_memory_seq_rm(memory, Int32(destination), Int32(length), -1)
        }
    }

    /// Drops the KV of `sequence` from `position` on.
    public func trimSequence(_ sequence: Int, from position: Int) {
        _ = llama_memory_seq_rm(memory, Int32(sequence), Int32(position), -1)
    }

    /// `sequence`'s KV cells, serialized into host memory (`llama_state_seq_get_data_ext`);
    /// `nil` when the engine wrote nothing.
    public func saveSequence(_ sequence: Int) -> [UInt8]? {
        let size = llama_state_seq_get_size_ext(pointer, Int32(sequence), 0)
        guard size > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBufferPointer {
            llama_state_seq_get_data_ext(pointer, $0.baseAddress, size, Int32(sequence), 0)
        }
        guard written > 0 else { return nil }
        if written < size { bytes.removeLast(size - written) }
        return bytes
    }

    /// Restores state saved by `saveSequence` into `sequence` (any slot: the engine places
    /// it in that sequence's own stream). False when the engine refused it; the sequence is
    /// then empty.
    public func restoreSequence(_ sequence: Int, from bytes: [UInt8]) -> Bool {
        removeSequence(sequence)
        let read = bytes.withUnsafeBufferPointer {
            llama_state_seq_set_data_ext(pointer, $0.baseAddress, $0.count, Int32(sequence), 0)
        }
        if read == 0 { removeSequence(sequence) }
        return read > 0
    }

    /// The highest position stored for `sequence`, or -1 when it has none.
    public func lastPosition(of sequence: Int) -> Int {
        Int(llama_memory_seq_pos_max(memory, Int32(sequence)))
    }

    /// Bytes `llama_state_seq_get_size` reports for `sequence`: its KV cells plus a small
    /// header. The growth between two lengths is the true KV bytes per token, which the
    /// capacity planner is checked against.
    public func stateSize(of sequence: Int) -> Int {
        llama_state_seq_get_size(pointer, Int32(sequence))
    }
}
