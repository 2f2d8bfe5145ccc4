/// A change to what the prefix cache holds, in the terms of vLLM's KV events
/// (`vllm/distributed/kv_events.py`), which cache-aware routers read: llm-d's KV-cache
/// indexer, NVIDIA Dynamo's router.
///
/// Blocks are full prefix blocks, each named by a hash chained to its parent's, so that a
/// block is stored only after its parent. Consumers recompute their own keys from the
/// token ids; the hashes name blocks for later removal.
public enum KVCacheEvent: Sendable, Equatable {
    /// Blocks now cached, in order: the first one's parent is `parent` (nil: the prompt's
    /// first block), each later one's parent is the block before it.
    case stored(KVBlockRun)
    /// Blocks no longer cached in `medium`.
    case removed(hashes: [UInt64], medium: KVMedium)
    /// The cache was emptied: a consumer forgets everything this publisher told it.
    case cleared
}

/// Consecutive blocks of one prompt, stored together (vLLM's `BlockStored`).
public struct KVBlockRun: Sendable, Equatable {
    /// Each block's hash, in prompt order.
    public var hashes: [UInt64]
    /// The hash of the block before the first, or nil for a prompt's first block.
    public var parent: UInt64?
    /// The blocks' tokens, `blockSize` per block.
    public var tokens: [Token]
    /// Tokens per block.
    public var blockSize: Int
    /// The LoRA adapter the KV was computed with (the engine's id), or nil for the base model.
    public var adapter: Int?
    /// Where the blocks live.
    public var medium: KVMedium
    /// What besides the tokens went into the hashes and keeps blocks apart: the tenant and
    /// `cache_salt`, as vLLM's `extra_keys` (nil when neither is set).
    public var extraKeys: [String]?

    /// Creates a run.
    public init(hashes: [UInt64], parent: UInt64?, tokens: [Token], blockSize: Int, adapter: Int?,
                medium: KVMedium, extraKeys: [String]?) {
        self.hashes = hashes
        self.parent = parent
        self.tokens = tokens
        self.blockSize = blockSize
        self.adapter = adapter
        self.medium = medium
        self.extraKeys = extraKeys
    }
}

/// Where cached KV lives, named as vLLM names it: the engine's own KV cache (`GPU`, even on
/// a CPU build, as vLLM calls its device tier) or the host-RAM tier (`CPU`).
public enum KVMedium: String, Sendable, Equatable, Hashable {
    /// The engine's KV cache.
    case device = "GPU"
    /// The host-RAM tier of saved prefixes.
    case host = "CPU"
}

/// Receives each step's prefix-cache events, on the engine thread, in order. Keep it
/// cheap and non-blocking: it runs between engine steps.
public protocol KVEventSink: AnyObject, Sendable {
    /// One step's events (never empty).
    func publish(_ events: [KVCacheEvent])
    /// Where adapter names come from, for the events' `lora_name` (asked off the engine
    /// thread, whenever an event names an adapter).
    func nameAdapters(with resolve: @escaping @Sendable (Int) -> String?)
    /// Sends what is queued and stops.
    func shutdown()
}

extension KVEventSink {
    /// Sinks that do not name adapters ignore the resolver.
    public func nameAdapters(with resolve: @escaping @Sendable (Int) -> String?) {}
    /// Sinks with nothing queued have nothing to stop.
    public func shutdown() {}
}
