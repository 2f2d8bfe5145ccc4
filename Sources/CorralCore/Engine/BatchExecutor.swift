/// One sequence's share of an engine step: tokens to feed at consecutive positions.
public struct SequenceWork: Sendable, Equatable {
    /// The KV sequence id (slot) the tokens belong to.
    public var slot: Int
    /// Position of the first token.
    public var startPosition: Int
    /// Tokens to feed.
    public var tokens: ArraySlice<Token>
    /// Sample a next token after the last one (the end of a prompt, or a decode step).
    public var sample: Bool
    /// Top alternatives to report with the sample; `nil` for none.
    public var logprobs: Int?
    /// How many of the last `tokens` are a speculative draft to verify (0 for none; needs
    /// `sample`). The engine samples after the token before the draft and after each draft
    /// token in turn, keeps going while each sample equals the draft token that follows,
    /// and drops the KV of the draft tokens it rejected.
    public var draft: Int
    /// An embedding request's whole input, computed in a pooled pass (`BatchExecutor.embed`).
    public var embed: Bool
    /// The LoRA adapter the tokens run under (`BatchExecutor.loadAdapter`'s id; 0 for the
    /// base model). Items of one step may name different adapters only where the executor
    /// `mixesAdapters`.
    public var adapter: Int

    /// Creates a value.
    public init(slot: Int, startPosition: Int, tokens: ArraySlice<Token>, sample: Bool, logprobs: Int? = nil,
                draft: Int = 0, embed: Bool = false, adapter: Int = 0) {
        self.slot = slot
        self.startPosition = startPosition
        self.tokens = tokens
        self.sample = sample
        self.logprobs = logprobs
        self.draft = draft
        self.embed = embed
        self.adapter = adapter
    }

    /// Tokens the step feeds before the draft: a prompt chunk, or the one decode token.
    public var committedCount: Int { tokens.count - draft }
}

/// The result of one sampled position.
public struct SampledToken: Sendable, Equatable {
    /// The chosen token.
    public var token: Token
    /// Its log-probabilities when asked for.
    public var logprobs: TokenLogprobs?

    /// Creates a value.
    public init(token: Token, logprobs: TokenLogprobs? = nil) {
        self.token = token
        self.logprobs = logprobs
    }
}

/// What the scheduler needs from an engine. All calls come from the engine thread.
///
/// `LlamaExecutor` runs the real engine; `SimulatedExecutor` is deterministic and costs
/// nothing, for policy tests and large simulations.
public protocol BatchExecutor: AnyObject {
    /// KV cells in the unified cache.
    var kvCapacity: Int { get }
    /// Sequence slots (distinct KV sequence ids).
    var slotCount: Int { get }
    /// Most tokens per step.
    var maxBatchTokens: Int { get }
    /// KV cells one sequence can hold (its partition, when the cache is partitioned).
    var sequenceCapacity: Int { get }

    /// Starts a fresh sampler for `slot`, primed with tokens already generated (after a
    /// preemption) so penalties carry over.
    func open(slot: Int, sampling: SamplingParameters, history: [Token])
    /// Runs one step. Returns one entry per work item: empty where `sample` was false, else
    /// the sampled tokens in order. Without a draft that is one token; with one, it is one
    /// token per draft token accepted plus the token sampled after the last of them (a
    /// rejected draft token's place is taken by the token sampled there), and the KV of the
    /// rejected draft tokens is gone. Sampling each position in turn, exactly as decoding
    /// one token at a time would, keeps the output identical: greedy, seeded or not, with
    /// penalties and grammars (a draft that proposes one token per position is verified
    /// exactly by drawing from the target distribution and comparing).
    /// - Throws: `ExecutorError.outOfKV` when the cache has no room (the scheduler
    ///   preempts and retries), or another error that fails the step's sequences.
    func execute(_ work: [SequenceWork]) throws(ExecutorError) -> [[SampledToken]]
    /// Runs embedding inputs in a pass of their own: each item is one whole input
    /// (position 0 to its end) in its own slot, and the result is its pooled vector,
    /// normalized to length 1. The KV cells stay in the slots until `release`.
    /// - Throws: `ExecutorError.outOfKV` when the cache has no room, `.failed` otherwise
    ///   (an executor that computes no embeddings).
    func embed(_ work: [SequenceWork]) throws(ExecutorError) -> [[Float]]
    /// Most tokens one embedding input may have: the whole input is pooled in one pass.
    var maxEmbeddingTokens: Int { get }
    /// Frees every KV cell of `slot` (cells shared with another slot stay with it).
    func release(slot: Int)
    /// Makes `destination` share the first `length` KV cells of `source` (unified cache:
    /// the cells are tagged, not duplicated). `destination` is empty or already holds a
    /// prefix of those same cells.
    func copy(from source: Int, to destination: Int, length: Int)
    /// Moves everything `source` holds (its first `length` KV cells and its sampler) to
    /// the empty `destination`, leaving `source` empty.
    func move(from source: Int, to destination: Int, length: Int)
    /// Drops the KV of `slot` from `position` on, keeping the prefix before it.
    func trim(slot: Int, from position: Int)
    /// Copies `slot`'s KV out to host memory (the prefix cache's host tier), or `nil` when
    /// the executor cannot.
    func saveState(slot: Int) -> SavedKV?
    /// Puts state taken by `saveState` back into the empty `slot`; false when it failed
    /// (the slot is then empty).
    func restoreState(_ state: SavedKV, slot: Int) -> Bool
    /// Whether a step runs in one pass only when its slots are consecutive and ascending
    /// (llama.cpp's partitioned KV layout splits a batch wherever they are not), so the
    /// scheduler keeps running sequences packed into the lowest slots.
    var packsSlots: Bool { get }
    /// Seconds the last `execute` spent reading logits and sampling (after the compute).
    var lastSampleSeconds: Double { get }
    /// Seconds the last `execute` spent inside the engine's own call (the compute, and
    /// sampling done on the device), so the scheduler can tell the host time between two
    /// engine calls from the engine's.
    var lastEngineSeconds: Double { get }
    /// Whether `token` ends generation.
    func isEndOfGeneration(_ token: Token) -> Bool
    /// The bytes `token` decodes to.
    func tokenBytes(_ token: Token) -> [UInt8]
    /// The bytes `token` decodes to; `special` renders a control token's text too.
    func tokenBytes(_ token: Token, special: Bool) -> [UInt8]
    /// Loads a LoRA adapter file so that work can run under it (`SequenceWork.adapter`).
    /// - Parameter maxRank: the largest rank accepted; a file over it is refused unloaded.
    /// - Throws: `.failed` with the reason (not an adapter, another base model, over the
    ///   rank, unreadable).
    func loadAdapter(path: String, maxRank: Int) throws(ExecutorError) -> LoadedAdapter
    /// Frees an adapter no work names any more.
    func unloadAdapter(_ id: Int)
    /// Whether one step may mix adapters (each sequence's tokens under its own). Without
    /// it the scheduler gives each step one adapter's sequences (`AdapterGroups`).
    var mixesAdapters: Bool { get }
}

/// A LoRA adapter the executor holds.
public struct LoadedAdapter: Sendable, Equatable {
    /// What `SequenceWork.adapter` calls it: never 0 (the base) and never reused.
    public var id: Int
    /// Its rank (the inner width of its low-rank pairs).
    public var rank: Int
    /// Its `alpha` (the engine scales the update by alpha / rank); 0 when the file sets none.
    public var alpha: Double
    /// Weight tensors it adapts.
    public var tensors: Int

    /// Creates a value.
    public init(id: Int, rank: Int, alpha: Double, tensors: Int) {
        self.id = id
        self.rank = rank
        self.alpha = alpha
        self.tensors = tensors
    }
}

extension BatchExecutor {
    /// An executor without a pooled pass.
    public func embed(_ work: [SequenceWork]) throws(ExecutorError) -> [[Float]] {
        throw .failed("this engine computes no embeddings")
    }
    /// One step's tokens.
    public var maxEmbeddingTokens: Int { maxBatchTokens }
    /// Executors without control tokens spell every token one way.
    public func tokenBytes(_ token: Token, special: Bool) -> [UInt8] { tokenBytes(token) }
    /// A unified cache: any sequence may use all of it.
    public var sequenceCapacity: Int { kvCapacity }
    /// Slot ids do not matter to the batch.
    public var packsSlots: Bool { false }
    /// Not measured.
    public var lastSampleSeconds: Double { 0 }
    /// An executor without adapters.
    public func loadAdapter(path: String, maxRank: Int) throws(ExecutorError) -> LoadedAdapter {
        throw .failed("this engine serves no LoRA adapters")
    }
    /// Nothing to free.
    public func unloadAdapter(_ id: Int) {}
    /// One adapter a step.
    public var mixesAdapters: Bool { false }
    /// Not measured.
    public var lastEngineSeconds: Double { 0 }
    /// No host tier.
    public func saveState(slot: Int) -> SavedKV? { nil }
    /// No host tier.
    public func restoreState(_ state: SavedKV, slot: Int) -> Bool { false }
    /// Shares the cells with `destination`, then lets `source` go (for executors with no
    /// per-slot state beyond the cells).
    public func move(from source: Int, to destination: Int, length: Int) {
        copy(from: source, to: destination, length: length)
        release(slot: source)
    }
}

/// Errors an executor reports to the scheduler.
public enum ExecutorError: Error, Sendable {
    /// The engine found no KV room for the step.
    case outOfKV
    /// Anything else.
    case failed(String)
}
