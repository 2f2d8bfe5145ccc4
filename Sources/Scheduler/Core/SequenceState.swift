import CorralCore

/// One request's life inside the scheduler: waiting → prefilling → decoding → finished,
/// or preempted back to waiting. Like vLLM's `Request`, it counts `computed` tokens, so
/// chunked prefill and recompute after preemption are one mechanism.
final class SequenceState {
    enum Phase { case waiting, running, finished }

    let id: UInt64
    let request: GenerationRequest
    let arrival: Double
    /// Its tenant's book: fair-share time and totals.
    let ledger: TenantLedger
    let continuation: AsyncStream<GenerationEvent>.Continuation
    var phase = Phase.waiting
    var slot: Int?
    /// Prompt followed by generated tokens: everything that must be in KV to continue.
    var tokens: [Token]
    /// Tokens of `tokens` whose KV is in the cache.
    var computed = 0
    var cancelled = false
    var preemptions = 0
    /// Tokens it had generated when last preempted to make room for another request (a
    /// higher priority, or a tenant under its share): until it has generated more, it is
    /// not preempted for that again.
    var displacedAt: Int?
    /// Tokens whose computation its tenant has been charged for in fair share.
    var chargedThrough = 0
    /// The prefix-cache cells this sequence shares instead of computing.
    var borrow = Borrow()
    /// Its place among the choices of one prompt (n > 1).
    var forks = ForkLinks()
    /// Times cache-aware admission let a request with a cached prefix go first.
    var bypassed = 0
    /// Prompt tokens reused from the prefix cache at its first admission.
    var cachedTokens = 0
    /// Turning its tokens into text.
    var text: TextOutput
    /// When it first ran and first produced a token.
    var timing = Timing()
    /// Its drafts: how long the next may be, and what its drafts have won so far.
    var speculation = Speculation()

    /// A prefix-cache entry whose first `length` cells this sequence shares.
    struct Borrow {
        var entry: PrefixCache.Entry?
        var length = 0
    }

    /// The fork graph of `n > 1`: one leader prefills the prompt, and its siblings share it.
    struct ForkLinks {
        /// For a sibling choice: the leader whose prompt it shares.
        var leader: SequenceState?
        /// For a leader: the entry holding its forked prompt, once made.
        var entry: PrefixCache.Entry?
        /// For a leader: forking was not possible; siblings prefill on their own.
        var declined = false
        /// For a leader: its sibling choices.
        var followers: [SequenceState] = []
        /// For a sibling: it holds a borrow of the leader's fork, taken when the fork was
        /// made, so the entry outlives the leader until every sibling has started.
        var holdsReservation = false
    }

    /// Output text: complete characters only, with stop strings held back and cut.
    struct TextOutput {
        var detokenizer = IncrementalDetokenizer()
        var stopMatcher: StopMatcher
    }

    /// A sequence's speculative decoding. The draft length adapts: a draft rejected at its
    /// first token halves the next one, and a draft accepted whole doubles it again; once
    /// one-token drafts keep failing, the sequence stops drafting for 2, 4, … 32 steps, so
    /// text that does not repeat costs almost no verification.
    struct Speculation {
        /// Most draft tokens its next step may verify.
        var limit = Int.max
        /// Steps to go without drafts, and one-token drafts rejected in a row.
        var pause = 0
        var misses = 0
        /// Draft tokens it has verified, and how many of them were accepted.
        var drafted = 0
        var accepted = 0
    }

    /// Timestamps on the scheduler's clock.
    struct Timing {
        var firstScheduled: Double?
        var firstToken: Double?
    }

    init(id: UInt64, request: GenerationRequest, arrival: Double, ledger: TenantLedger,
         continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.id = id
        self.request = request
        self.arrival = arrival
        self.ledger = ledger
        self.continuation = continuation
        self.tokens = request.prompt
        self.text = TextOutput(stopMatcher: StopMatcher(stops: request.stop))
    }

    var promptCount: Int { request.prompt.count }
    /// Who may share its cached KV: its tenant, then its `cache_salt`, then its adapter
    /// (the same tokens under two adapters are different KV).
    var cacheScope: String {
        let scope = request.tenant + "\u{1F}" + request.cacheSalt
        return request.adapter == 0 ? scope : scope + "\u{1F}\(request.adapter)"
    }
    /// Whether it belongs to `group`, the LoRA adapter a step serves (nil: every group).
    func isIn(_ group: Int?) -> Bool { group.map { request.adapter == $0 } ?? true }
    /// KV cells this sequence holds beyond those it shares with a cache entry.
    var ownCells: Int { computed - borrow.length }
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
