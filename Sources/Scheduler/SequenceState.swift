import CorralCore

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
    /// For a sibling choice (n > 1): the leader whose prompt it shares.
    var forkOf: SequenceState?
    /// For a leader: the entry holding its forked prompt, once made.
    var fork: PrefixCache.Entry?
    /// For a leader: forking was not possible; siblings prefill on their own.
    var forkDeclined = false
    /// For a leader: its sibling choices.
    var followers: [SequenceState] = []
    /// For a sibling: it holds a borrow of the leader's fork, taken when the fork was made
    /// so the entry outlives the leader until every sibling has started.
    var holdsForkReservation = false
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
