import CorralCore

/// The scheduler's state and policy, with no threads: `plan()` decides a step, the
/// caller runs it on the executor, and `commit(_:_:)` applies the results. Tests drive
/// this directly with a simulated executor; `BatchScheduler` drives it on its thread.
final class SchedulerCore {
    let config: SchedulerConfig
    let executor: any BatchExecutor
    let clock: @Sendable () -> Double
    let maxModelLength: Int
    var observer: (any SchedulerObserver)?
    /// Where speculative drafts come from (`config.speculation`); nil for none.
    var proposer: (any DraftProposer)?
    /// Where the prefix cache's KV events go, once per step; nil publishes none.
    var kvEvents: (any KVEventSink)? {
        didSet { if kvEvents != nil && kv.events == nil { kv.publishEvents() } }
    }

    /// Requests waiting for a slot, in the policy's order.
    let queue: WaitingQueue
    private(set) var running: [SequenceState] = []
    /// Slots, cells and cached prefixes: everything that changes what the KV cache holds.
    let kv: KVCacheManager
    private var nextID: UInt64 = 0
    private(set) var counters = SchedulerCounters()
    /// Fair-share state and totals by tenant; as many entries as tenants have sent requests
    /// (tenants come from the keys file, so the count is bounded by it).
    var tenants: [String: TenantLedger] = [:]
    /// What each LoRA adapter has waiting and running, and whose turn is next.
    var adapters = AdapterGroups()
    /// Adapters loaded through `loadAdapter` and not yet unloaded (bounded by the server's
    /// adapter limit); a request may name only these.
    var loadedAdapters: Set<Int> = []
    /// Adapters to unload once no sequence uses them.
    var retiring: Set<Int> = []

    init(executor: any BatchExecutor, config: SchedulerConfig, clock: @escaping @Sendable () -> Double,
         proposer: (any DraftProposer)? = nil) {
        self.executor = executor
        self.config = config
        self.clock = clock
        self.queue = WaitingQueue(policy: config.policy)
        let capacity = executor.sequenceCapacity
        self.maxModelLength = config.maxModelLength > 0 ? min(config.maxModelLength, capacity) : capacity
        self.kv = KVCacheManager(executor: executor, config: config)
        self.proposer = config.speculation.method == .off ? nil : proposer ?? config.speculation.proposer
    }

    /// Hands the events recorded since the last call to `kvEvents`.
    func flushKVEvents() {
        guard let sink = kvEvents, let events = kv.events?.take(), !events.isEmpty else { return }
        sink.publish(events)
    }

    /// Waiting sequences, in the policy's order.
    var waiting: [SequenceState] { queue.sequences }
    var hasWork: Bool { !queue.isEmpty || !running.isEmpty || !retiring.isEmpty }
    /// Cells held by running sequences (shared prefix cells count with their cache entry).
    var kvUsed: Int { running.reduce(0) { $0 + $1.ownCells } }
    /// Cells free now, counting cached prefixes as used.
    var kvFree: Int { kv.free(used: kvUsed) }
    /// Cells held by cached prefixes, in either cache.
    var kvCached: Int { kv.cached }

    /// Evicts cached prefixes until `cells` are free (see `KVCacheManager.makeRoom`).
    func makeRoom(_ cells: Int, keeping: Int? = nil) {
        kv.makeRoom(cells, used: kvUsed, keeping: keeping)
    }

    /// A point-in-time view for gauges.
    var snapshot: SchedulerSnapshot {
        SchedulerSnapshot(running: running.count, waiting: waiting.count, waitingTokens: queue.tokens,
                          kvUsed: kvUsed, kvCached: kvCached,
                          hostCachedBytes: kv.hostCachedBytes, kvCapacity: executor.kvCapacity, counters: counters, tenants: tenantSnapshots,
                         adapters: adapterSnapshot)
    }

    // MARK: Admission

    /// Checks a request against the limits that do not depend on load.
    func validate(_ request: GenerationRequest) throws(SchedulerError) {
        guard !request.prompt.isEmpty else { throw .invalidRequest("the prompt is empty") }
        guard request.adapter == 0 || (loadedAdapters.contains(request.adapter) && !retiring.contains(request.adapter)) else {
            throw .invalidRequest("LoRA adapter \(request.adapter) is not loaded")
        }
        if request.embedding {
            // The whole input is pooled in one pass, so it must fit one.
            let limit = maxEmbeddingTokens
            guard request.prompt.count <= limit else {
                throw .contextLengthExceeded(requested: request.prompt.count, limit: limit)
            }
            return
        }
        guard request.maxTokens >= 1 else { throw .invalidRequest("max_tokens must be at least 1") }
        let total = request.prompt.count + request.maxTokens
        guard total <= maxModelLength else { throw .contextLengthExceeded(requested: total, limit: maxModelLength) }
    }

    /// Most tokens of one embedding input: one pass (the executor's and the step's budget)
    /// within the context.
    var maxEmbeddingTokens: Int {
        min(executor.maxEmbeddingTokens, config.maxBatchTokens, executor.maxBatchTokens, maxModelLength)
    }

    /// Queues a request, or refuses it at once when the waiting queue is full.
    func enqueue(_ request: GenerationRequest,
                 continuation: AsyncStream<GenerationEvent>.Continuation) throws(SchedulerError) -> UInt64 {
        try validate(request)
        guard queue.count < config.maxWaitingRequests,
              queue.tokens + request.prompt.count <= config.maxWaitingTokens else {
            counters.rejected += 1
            throw .overloaded(retryAfter: retryAfterEstimate())
        }
        nextID += 1
        let ledger = ledger(for: request.tenant)
        noteArrival(of: ledger)
        adapters.arrived(request.adapter)
        let seq = SequenceState(id: nextID, request: request, arrival: clock(), ledger: ledger, continuation: continuation)
        insertWaiting(seq)
        return seq.id
    }

    /// Queues one prompt's choices (one request when n is 1), all or none. The first is
    /// the leader; the others share its prompt's KV once it is computed.
    func enqueueChoices(_ requests: [GenerationRequest], onCancel: @escaping @Sendable (UInt64) -> Void = { _ in })
        throws(SchedulerError) -> [AsyncStream<GenerationEvent>] {
        for r in requests { try validate(r) }
        let tokens = requests.reduce(0) { $0 + $1.prompt.count }
        guard queue.count + requests.count <= config.maxWaitingRequests,
              queue.tokens + tokens <= config.maxWaitingTokens else {
            counters.rejected += requests.count
            throw .overloaded(retryAfter: retryAfterEstimate())
        }
        var streams: [AsyncStream<GenerationEvent>] = []
        var leader: SequenceState?
        for request in requests {
            let (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
            let id = try enqueue(request, continuation: continuation)
            continuation.onTermination = { reason in if case .cancelled = reason { onCancel(id) } }
            let seq = waiting.first { $0.id == id }!
            if let leader {
                seq.forks.leader = leader
                leader.forks.followers.append(seq)
            } else {
                leader = seq
            }
            streams.append(stream)
        }
        return streams
    }

    /// Marks a request cancelled; it leaves the batch at the next plan.
    func cancel(_ id: UInt64) {
        if let seq = running.first(where: { $0.id == id }) ?? waiting.first(where: { $0.id == id }) {
            seq.cancelled = true
        }
    }

    /// Fails every request (shutdown).
    func failAll(_ error: SchedulerError) {
        for seq in running + waiting { finish(seq, .failed(error)) }
    }

    private func insertWaiting(_ seq: SequenceState) {
        queue.insert(seq)
        seq.phase = .waiting
    }

    /// Seconds a refused client should wait: the queue's tokens over recent throughput,
    /// clamped to something a client will honour.
    private func retryAfterEstimate() -> Int {
        let perSecond = max(counters.recentTokensPerSecond, 1)
        return min(max(Int((Double(queue.tokens) / perSecond).rounded(.up)), 1), 60)
    }

    // MARK: Ending

    private func finish(_ seq: SequenceState, _ event: GenerationEvent) {
        // An embedding pass leaves no KV behind: its cells were computed for pooling and
        // the accounting must see them free.
        let finished = if case .finished = event { !seq.request.embedding } else { false }
        if finished { kv.retainPrefix(of: seq) }
        kv.release(seq, keep: finished)
        if seq.phase == .waiting { queue.remove(seq) } else { running.removeAll { $0 === seq } }
        seq.phase = .finished
        adapters.left(seq.request.adapter)
        proposer?.forget(sequence: seq.id)
        seq.continuation.yield(event)
        seq.continuation.finish()
        switch event {
        case .finished(let summary):
            tally(\.succeeded, for: seq)
            observer?.requestFinished(summary)
        case .failed(let error):
            tally(\.failed, for: seq)
            observer?.requestFailed(error, endpoint: seq.request.endpoint)
        case .delta: break
        }
    }

    func summary(_ seq: SequenceState, _ reason: FinishReason) -> GenerationSummary {
        let now = clock()
        return GenerationSummary(reason: reason, promptTokens: seq.promptCount, completionTokens: seq.generatedCount,
                                 queueTime: (seq.timing.firstScheduled ?? now) - seq.arrival,
                                 timeToFirstToken: (seq.timing.firstToken ?? now) - seq.arrival,
                                 totalTime: now - seq.arrival, preemptions: seq.preemptions,
                                 cachedTokens: seq.cachedTokens, draftTokens: seq.speculation.drafted,
                                 acceptedDraftTokens: seq.speculation.accepted, endpoint: seq.request.endpoint)
    }

    // MARK: Steps (see SchedulerCore+Plan.swift and SchedulerCore+Commit.swift)

    /// Starts `seq` in `slot`: `hit` is a block-cache prefix to copy in, `reused` the tokens
    /// the slot already holds for it (the slot cache put them there).
    func admit(_ seq: SequenceState, slot: Int, now: Double, hit: KVCacheManager.Hit?, reused: Int = 0) {
        queue.remove(seq)
        seq.slot = slot
        seq.phase = .running
        seq.computed = reused
        seq.forks.leader = nil
        seq.forks.holdsReservation = false  // the reservation is now this sequence's borrow
        if config.prefixCaching { counters.prefixQueryTokens += seq.tokens.count }
        if let hit {  // already borrowed by the planner
            kv.share(hit, with: seq, in: slot)
            seq.computed = hit.length
            if config.prefixCaching { counters.prefixHitTokens += hit.length }
        }
        counters.prefixHitTokens += reused
        if seq.timing.firstScheduled == nil {
            seq.timing.firstScheduled = now
            seq.cachedTokens = min(seq.computed, seq.promptCount)
            // A tenant's prompt tokens are those its requests sent, cached or computed.
            seq.ledger.counters.promptTokens += seq.cachedTokens
        }
        executor.open(slot: slot, sampling: seq.request.sampling, history: Array(seq.tokens[seq.promptCount...]))
        running.append(seq)
    }

    /// Preempt by recompute: free the KV, keep the tokens, go back to the queue's front.
    func preempt(_ seq: SequenceState) {
        kv.release(seq, keep: true)
        running.removeAll { $0 === seq }
        seq.computed = 0
        seq.preemptions += 1
        tally(\.preemptions, for: seq)
        insertWaiting(seq)
    }

    func end(_ seq: SequenceState, _ event: GenerationEvent) { finish(seq, event) }
    func count(prompt: Int = 0, generated: Int = 0) {
        counters.promptTokens += prompt
        counters.generationTokens += generated
    }
    /// Counts one of `seq`'s events in the scheduler's totals and its tenant's.
    func tally(_ field: WritableKeyPath<SchedulerCounters, Int>, for seq: SequenceState) {
        counters[keyPath: field] += 1
        seq.ledger.counters[keyPath: field] += 1
        seq.ledger.endpoints[seq.request.endpoint, default: SchedulerCounters()][keyPath: field] += 1
    }
    func countSlotMove() { counters.slotMoves += 1 }
    func countDraft(drafted: Int, accepted: Int) {
        counters.specDrafts += 1
        counters.specDraftTokens += drafted
        counters.specAcceptedTokens += accepted
        if counters.specAcceptedPerPosition.count < drafted {
            counters.specAcceptedPerPosition += Array(repeating: 0, count: drafted - counters.specAcceptedPerPosition.count)
        }
        for position in 0..<accepted { counters.specAcceptedPerPosition[position] += 1 }
    }
    func countHostHit(_ tokens: Int) { counters.prefixHostHitTokens += tokens }
    func noteThroughput(tokens: Int, seconds: Double) { counters.noteThroughput(tokens: tokens, seconds: seconds) }
}
