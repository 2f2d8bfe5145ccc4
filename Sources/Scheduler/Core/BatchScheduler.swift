import Foundation
public import CorralCore

/// The continuous-batching scheduler: a dedicated engine thread runs plan → execute →
/// commit while there is work, and sleeps on a condition variable when there is none.
///
/// `submit` is safe from any thread or task. Results stream back through `AsyncStream`;
/// when a client stops listening, the stream's termination cancels the request and its
/// KV is freed at the next step.
public final class BatchScheduler: @unchecked Sendable {
    let core: SchedulerCore
    private let condition = NSCondition()
    private var stopping = false
    /// Engine calls to make between two steps (adapter loads): at most one per caller
    /// awaiting it, and the adapter registry loads one at a time.
    private var engineTasks: [() -> Void] = []
    private var thread: Thread?
    private let startTime = ContinuousClock.now

    /// The longest sequence (prompt plus output) a request may ask for.
    public let maxModelLength: Int
    /// The longest embedding input: one engine pass, within the step's token budget.
    public let maxEmbeddingTokens: Int
    /// The configuration in force.
    public let config: SchedulerConfig
    /// How prefixes are cached: `slots` (each free slot keeps its last sequence's KV, with
    /// a host-RAM tier), `blocks` (hashed blocks in spare slots of a unified cache) or `off`.
    public let prefixCacheMode: String

    /// Creates a scheduler over `executor`. Call `start()` to run it.
    /// - Parameters:
    ///   - clock: seconds on a monotonic clock; simulations pass a virtual one.
    ///   - proposer: where speculative drafts come from when the engine supplies them (a
    ///     draft model); nil takes the one `config.speculation` names.
    ///   - kvEvents: receives the prefix cache's KV events after each step; nil records none.
    public init(executor: any BatchExecutor, config: SchedulerConfig,
                observer: (any SchedulerObserver)? = nil, clock: (@Sendable () -> Double)? = nil,
                proposer: (any DraftProposer)? = nil, kvEvents: (any KVEventSink)? = nil) {
        let start = ContinuousClock.now
        let clock = clock ?? { (ContinuousClock.now - start).seconds }
        self.core = SchedulerCore(executor: executor, config: config, clock: clock, proposer: proposer)
        self.core.observer = observer
        self.core.kvEvents = kvEvents
        self.maxModelLength = core.maxModelLength
        self.maxEmbeddingTokens = core.maxEmbeddingTokens
        self.config = config
        self.prefixCacheMode = !config.prefixCaching ? "off" : core.kv.slotCache != nil ? "slots" : core.kv.prefixCache != nil ? "blocks" : "off"
    }

    /// Starts the engine thread.
    public func start() {
        let thread = Thread { [self] in runLoop() }
        thread.name = "corral-engine"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Stops the loop after the current step and fails whatever is left with `.shuttingDown`.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// Queues a request.
    /// - Throws: `.overloaded` when the queue is full, `.contextLengthExceeded` or
    ///   `.invalidRequest` when it could never run, `.shuttingDown` after `shutdown()`.
    /// - Returns: the request's events, ending with `.finished` or `.failed`.
    public func submit(_ request: GenerationRequest) throws(SchedulerError) -> AsyncStream<GenerationEvent> {
        try withLock { () throws(SchedulerError) in
            try core.enqueueChoices([request], onCancel: { [weak self] in self?.cancel($0) })
        }[0]
    }

    /// Runs `body` under the lock, refusing after shutdown, and wakes the engine thread.
    func withLock<T>(_ body: () throws(SchedulerError) -> T) throws(SchedulerError) -> T {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw .shuttingDown }
        let result = try body()
        condition.signal()
        return result
    }

    /// Queues `task` for the engine thread, to run between two steps, off the lock.
    /// - Returns: false after shutdown (the task will not run).
    func onEngineThread(_ task: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        engineTasks.append(task)
        condition.signal()
        return true
    }

    /// Runs `body` on the scheduler's state under the lock, and wakes the engine thread.
    func withCoreLock(_ body: (SchedulerCore) -> Void) {
        condition.lock()
        body(core)
        condition.signal()
        condition.unlock()
    }

    /// Cancels a request from its stream's termination handler.
    func cancel(_ id: UInt64) {
        condition.lock()
        core.cancel(id)
        condition.signal()
        condition.unlock()
    }

    /// Validates a request without queuing it.
    public func validate(_ request: GenerationRequest) throws(SchedulerError) {
        condition.lock()
        defer { condition.unlock() }
        try core.validate(request)
    }

    /// Gauges and counters now.
    public var snapshot: SchedulerSnapshot {
        condition.lock()
        defer { condition.unlock() }
        return core.snapshot
    }

    private func runLoop() {
        while true {
            condition.lock()
            var wasIdle = false
            while !core.hasWork && !stopping && engineTasks.isEmpty {
                condition.wait()
                wasIdle = true
            }
            if !engineTasks.isEmpty && !stopping {
                // Off the lock, so requests keep queuing while an adapter loads.
                let tasks = engineTasks
                engineTasks.removeAll()
                condition.unlock()
                for task in tasks { task() }
                continue
            }
            if wasIdle {
                // An idle engine woken by one request waits a moment for others sent at the
                // same instant (clients whose turns ended in the same step), so they share
                // the first step instead of each waiting out the one before.
                let deadline = Date(timeIntervalSinceNow: Self.arrivalWindow)
                while !stopping && Date() < deadline { _ = condition.wait(until: deadline) }
            }
            if stopping {
                core.failAll(.shuttingDown)
                core.flushKVEvents()
                let tasks = engineTasks
                engineTasks.removeAll()
                condition.unlock()
                for task in tasks { task() }  // each still runs, so every caller gets its answer
                return
            }
            let planning = ContinuousClock.now
            let plan = core.plan()
            let planSeconds = (ContinuousClock.now - planning).seconds
            condition.unlock()
            guard !plan.isEmpty else {
                // Work exists but none can run now (it waits on a deadline or on room):
                // sleep a little rather than spin. A plan may still have changed the cache
                // (a cancelled sequence's KV kept), and its events go out now.
                condition.lock()
                core.flushKVEvents()
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.005))
                condition.unlock()
                continue
            }

            let (result, seconds) = core.run(plan)

            condition.lock()
            // A step with both generation and embedding work makes two engine calls and
            // reports the last one's time, so its host time is counted high (it is rare).
            let hostBefore = (ContinuousClock.now - planning).seconds - core.executor.lastEngineSeconds
            core.commit(plan, result, seconds: seconds, sampleSeconds: core.executor.lastSampleSeconds,
                        planSeconds: planSeconds, hostBefore: hostBefore)
            condition.unlock()
        }
    }
}

extension BatchScheduler {
    /// Seconds an idle engine waits, once woken, for requests arriving together.
    static let arrivalWindow = 0.003

    /// Queues sibling choices of one prompt (n > 1). The first runs the prompt; the others
    /// wait for it and share its KV (all but the last prompt token) instead of prefilling
    /// it again. All are refused together if the queue cannot take them.
    public func submit(choices requests: [GenerationRequest]) throws(SchedulerError) -> [AsyncStream<GenerationEvent>] {
        guard let first = requests.first else { return [] }
        guard requests.allSatisfy({ $0.prompt == first.prompt }) else {
            throw .invalidRequest("sibling choices must share one prompt")
        }
        return try withLock { () throws(SchedulerError) in
            try core.enqueueChoices(requests, onCancel: { [weak self] in self?.cancel($0) })
        }
    }
}


