import LlamaEngine

/// One request's life inside the scheduler: waiting → prefilling → decoding → finished,
/// or preempted back to waiting. Like vLLM's `Request`, it counts `computed` tokens, so
/// chunked prefill and recompute after preemption are one mechanism.
final class SequenceState {
    enum Phase { case waiting, running, finished }

    let id: UInt64
    let request: GenerationRequest
    let arrival: Double
    let continuation: AsyncStream<GenerationEvent>.Continuation
    var phase = Phase.waiting
    var slot: Int?
    /// Prompt followed by generated tokens: everything that must be in KV to continue.
    var tokens: [Token]
    /// Tokens of `tokens` whose KV is in the cache.
    var computed = 0
    var cancelled = false
    /// A prefix-cache entry whose cells this sequence shares, and how many.
    var borrowed: PrefixCache.Entry?
    var borrowedLength = 0
    var preemptions = 0
    var firstScheduled: Double?
    var firstToken: Double?
    var detokenizer = IncrementalDetokenizer()
    var stopMatcher: StopMatcher

    init(id: UInt64, request: GenerationRequest, arrival: Double,
         continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.id = id
        self.request = request
        self.arrival = arrival
        self.continuation = continuation
        self.tokens = request.prompt
        self.stopMatcher = StopMatcher(stops: request.stop)
    }

    var promptCount: Int { request.prompt.count }
    /// KV cells this sequence holds beyond those it shares with a cache entry.
    var ownCells: Int { computed - borrowedLength }
    var generatedCount: Int { tokens.count - promptCount }
    /// Prefill is done once every token but the newest is computed.
    var isDecoding: Bool { computed == tokens.count - 1 && computed >= promptCount }
    /// Tokens still to compute before the next sample.
    var remainingPrefill: Int { tokens.count - computed }

    /// Waiting-queue order: priority first (when the policy uses it), then arrival; a
    /// preempted sequence keeps its original arrival and so goes back to the front.
    func precedes(_ other: SequenceState, usePriority: Bool) -> Bool {
        if usePriority && request.priority != other.request.priority { return request.priority < other.request.priority }
        return (arrival, id) < (other.arrival, other.id)
    }
}
