/// Receives the scheduler's metric events, on the engine thread. Keep implementations
/// cheap: they run between engine steps.
public protocol SchedulerObserver: AnyObject, Sendable {
    /// A step ran: its duration, tokens fed and sequences in the batch.
    func stepFinished(_ stats: StepStats)
    /// A request completed.
    func requestFinished(_ summary: GenerationSummary)
    /// A request ended with an error.
    func requestFailed(_ error: SchedulerError)
    /// A request sent through `endpoint` ended with an error.
    func requestFailed(_ error: SchedulerError, endpoint: String)
}

extension SchedulerObserver {
    /// Observers that do not count by endpoint get the error alone.
    public func requestFailed(_ error: SchedulerError, endpoint: String) { requestFailed(error) }
}

/// One step's figures.
public struct StepStats: Sendable, Equatable {
    /// Seconds the executor took (the engine's compute plus sampling).
    public var duration: Double
    /// Prompt tokens fed (prefill chunks).
    public var prefillTokens: Int
    /// Decode tokens fed.
    public var decodeTokens: Int
    /// Sequences in the step.
    public var sequences: Int
    /// Seconds of `duration` spent reading logits and sampling.
    public var sampleSeconds: Double
    /// Seconds the scheduler spent planning the step and committing its results.
    public var scheduleSeconds: Double
    /// Seconds the engine thread spent on the step outside the engine's own call: planning,
    /// filling the batch, sampling on the host, committing. It is what stands between two
    /// engine calls when steps run back to back.
    public var hostSeconds: Double

    /// Creates a value.
    public init(duration: Double, prefillTokens: Int, decodeTokens: Int, sequences: Int,
                sampleSeconds: Double = 0, scheduleSeconds: Double = 0, hostSeconds: Double = 0) {
        self.hostSeconds = hostSeconds
        self.duration = duration
        self.prefillTokens = prefillTokens
        self.decodeTokens = decodeTokens
        self.sequences = sequences
        self.sampleSeconds = sampleSeconds
        self.scheduleSeconds = scheduleSeconds
    }
}

/// Totals since start: the scheduler's, and each tenant's (`TenantLedger.counters`, where
/// the fields the scheduler alone counts stay zero).
public struct SchedulerCounters: Sendable, Equatable {
    /// Prompt tokens: the scheduler's are those computed (recompute after preemption counts
    /// again); a tenant's are those its requests sent, cached or computed.
    public var promptTokens = 0
    /// Tokens generated.
    public var generationTokens = 0
    /// Running sequences preempted, for KV space or for a higher priority.
    public var preemptions = 0
    /// Of those, preempted for a higher-priority request.
    public var priorityPreemptions = 0
    /// Requests (choices) that finished.
    public var succeeded = 0
    /// Requests (choices) that ended with an error (cancelled, timed out, engine failure).
    public var failed = 0
    /// Requests refused because the queue was full.
    public var rejected = 0
    /// Tokens looked up in the prefix cache.
    public var prefixQueryTokens = 0
    /// Tokens found there (not recomputed), from either tier.
    public var prefixHitTokens = 0
    /// The part of `prefixHitTokens` restored from the host-RAM tier.
    public var prefixHostHitTokens = 0
    /// KV partition copies made to keep a partitioned batch (or, with LoRA adapters, each
    /// adapter's group) in one pass.
    public var slotMoves = 0
    /// Speculative drafts verified (vLLM's `spec_decode_num_drafts`).
    public var specDrafts = 0
    /// Draft tokens verified (`spec_decode_num_draft_tokens`).
    public var specDraftTokens = 0
    /// Draft tokens accepted (`spec_decode_num_accepted_tokens`).
    public var specAcceptedTokens = 0
    /// Drafts whose token at each position was accepted (`spec_decode_num_accepted_tokens_per_pos`);
    /// as long as the longest draft allowed.
    public var specAcceptedPerPosition: [Int] = []
    /// An exponential moving average of tokens per second, for Retry-After.
    public var recentTokensPerSecond: Double = 0

    /// All zero.
    public init() {}

    mutating func noteThroughput(tokens: Int, seconds: Double) {
        guard seconds > 0 else { return }
        let rate = Double(tokens) / seconds
        recentTokensPerSecond = recentTokensPerSecond == 0 ? rate : 0.9 * recentTokensPerSecond + 0.1 * rate
    }
}

/// Gauges at one moment.
public struct SchedulerSnapshot: Sendable, Equatable {
    /// Sequences in the running batch.
    public var running: Int
    /// Requests waiting.
    public var waiting: Int
    /// Prompt tokens waiting.
    public var waitingTokens: Int
    /// KV cells in use by running sequences.
    public var kvUsed: Int
    /// KV cells held by cached prefixes (evictable when not borrowed).
    public var kvCached: Int
    /// Bytes of saved KV in the prefix cache's host-RAM tier.
    public var hostCachedBytes = 0
    /// KV cells in all.
    public var kvCapacity: Int
    /// Totals.
    public var counters: SchedulerCounters
    /// Each tenant that has sent a request: its queue, batch and totals.
    public var tenants: [String: TenantSnapshot] = [:]
    /// LoRA adapters with sequences in the batch and in the queue.
    public var adapters = Adapters()

    /// Which LoRA adapters (by id) have sequences where.
    public struct Adapters: Sendable, Equatable {
        /// Adapters with running sequences.
        public var running: Set<Int> = []
        /// Adapters with waiting requests.
        public var waiting: Set<Int> = []
        /// Steps that ran another adapter than the step before.
        public var switches = 0

        /// Creates a value.
        public init(running: Set<Int> = [], waiting: Set<Int> = [], switches: Int = 0) {
            self.running = running
            self.waiting = waiting
            self.switches = switches
        }
    }

    /// KV use in 0...1.
    public var kvUsage: Double { kvCapacity > 0 ? Double(kvUsed) / Double(kvCapacity) : 0 }
}
