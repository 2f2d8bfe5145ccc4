import CorralCore
@testable import Scheduler
import Testing

/// The scheduler's seeded generator, so random workloads replay exactly.

/// Everything one request's stream delivered, in order.
struct Outcome {
    var tokens: [Token] = []
    var deltas: [String] = []
    var summary: GenerationSummary?
    var error: SchedulerError?
    /// `.finished` plus `.failed` events seen.
    var ends = 0
    /// Events that arrived after the first `.finished` or `.failed`.
    var eventsAfterEnd = 0
    var text: String { deltas.joined() }
}

/// Drains a stream. Only call it on a stream that has ended (or is known to end),
/// otherwise it waits for ever.
func collect(_ stream: AsyncStream<GenerationEvent>) async -> Outcome {
    var outcome = Outcome()
    for await event in stream {
        if outcome.ends > 0 { outcome.eventsAfterEnd += 1 }
        switch event {
        case .delta(let text, let tokens, _):
            outcome.deltas.append(text)
            outcome.tokens += tokens
        case .finished(let summary):
            outcome.summary = summary
            outcome.ends += 1
        case .failed(let error):
            outcome.error = error
            outcome.ends += 1
        }
    }
    return outcome
}

extension SimulatedExecutor {
    /// The tokens the fake model generates after `prompt`: token `t` at position `p` is
    /// followed by `next(after: t, position: p)`.
    func chain(after prompt: [Token], count: Int, adapter: Int = 0) -> [Token] {
        var out: [Token] = []
        var last = prompt.last!
        var position = prompt.count - 1
        for _ in 0..<count {
            last = next(after: last, position: position, adapter: adapter)
            out.append(last)
            position += 1
        }
        return out
    }

    /// The text the fake model's tokens spell ("w<id> " each); EOG tokens spell nothing.
    func text(of tokens: [Token]) -> String {
        tokens.filter { !isEndOfGeneration($0) }.map { "w\($0) " }.joined()
    }
}

/// A prompt of `count` tokens, all valid non-EOG ids.
/// Steps `core` until idle, returning every executor error, every step where the
/// scheduler's KV count differs from the executor's cells, and every embedding input the
/// plan split.
func drive(_ core: SchedulerCore, _ executor: SimulatedExecutor) -> [String] {
    var violations: [String] = []
    var steps = 0
    while core.hasWork && steps < 10_000 {
        let (plan, result) = core.step(recording: 0.01)
        if case .failure(let e)? = result { violations.append("executor: \(e)") }
        for item in plan.work where item.embed && item.startPosition != 0 {
            violations.append("step \(steps): an embedding input was split")
        }
        if executor.usedCells != executor.kvCapacity - core.kvFree {
            violations.append("step \(steps): executor \(executor.usedCells) cells, scheduler \(executor.kvCapacity - core.kvFree)")
        }
        steps += 1
    }
    return violations
}

func prompt(_ count: Int, seed: Int = 1) -> [Token] {
    (0..<count).map { Token(1 + (seed * 131 + $0 * 17) % 997) }
}

/// Drives a `SchedulerCore` synchronously over a `SimulatedExecutor`: plan → execute →
/// commit, on a virtual clock that the executor advances. Checks the step invariants
/// every step and records what it sees (admissions, ends) for the policy tests.
final class Harness {
    let executor: SimulatedExecutor
    let core: SchedulerCore
    let config: SchedulerConfig
    private(set) var streams: [UInt64: AsyncStream<GenerationEvent>] = [:]
    private(set) var requests: [UInt64: GenerationRequest] = [:]
    /// Errors the executor threw (an over-committing scheduler shows up here).
    private(set) var executorErrors: [ExecutorError] = []
    /// Broken invariants, one line each.
    private(set) var violations: [String] = []
    /// Ids in the order they were first admitted to the running batch.
    private(set) var admitted: [UInt64] = []
    /// Ids in the order they ended, and the step at which each ended.
    private(set) var ended: [UInt64] = []
    private(set) var endStep: [UInt64: Int] = [:]
    private(set) var stepsRun = 0
    private var live: Set<UInt64> = []

    init(kvCapacity: Int, slots: Int = 8, config: SchedulerConfig) {
        let executor = SimulatedExecutor(kvCapacity: kvCapacity, slotCount: slots, maxBatchTokens: config.maxBatchTokens)
        self.executor = executor
        self.config = config
        self.core = SchedulerCore(executor: executor, config: config, clock: { executor.now })
    }

    @discardableResult
    func submit(_ request: GenerationRequest) throws(SchedulerError) -> UInt64 {
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
        let id = try core.enqueue(request, continuation: continuation)
        streams[id] = stream
        requests[id] = request
        live.insert(id)
        return id
    }

    /// The error `submit` throws, or `nil` when the request was queued.
    func submitError(_ request: GenerationRequest) -> SchedulerError? {
        do throws(SchedulerError) {
            try submit(request)
            return nil
        } catch {
            return error
        }
    }

    func running(_ id: UInt64) -> SequenceState? { core.running.first { $0.id == id } }
    func isLive(_ id: UInt64) -> Bool { live.contains(id) }

    /// One plan → execute → commit round. Returns the plan that ran.
    @discardableResult
    func step() -> StepPlan {
        // The core's own step, checked before and after: the plan is read back from it.
        observe()
        let (plan, result) = core.step(recording: 0.01)
        if case .failure(let error)? = result { executorErrors.append(error) }
        let fed = plan.work.reduce(0) { $0 + $1.tokens.count }
        if fed > config.maxBatchTokens { violations.append("step \(stepsRun): \(fed) tokens > maxBatchTokens") }
        if core.running.count > config.maxRunningSequences {
            violations.append("step \(stepsRun): \(core.running.count) running > maxRunningSequences")
        }
        if Set(plan.work.map(\.slot)).count != plan.work.count { violations.append("step \(stepsRun): slot used twice") }
        stepsRun += 1
        observe()
        // Physical cells, shared ones once: running sequences' own cells plus cached prefixes.
        let used = executor.usedCells
        let counted = executor.kvCapacity - core.kvFree
        if used > executor.kvCapacity { violations.append("step \(stepsRun): KV \(used) > \(executor.kvCapacity)") }
        if used != counted { violations.append("step \(stepsRun): executor holds \(used) cells, scheduler counts \(counted)") }
        return plan
    }

    /// Steps until nothing is running or waiting; `false` if `maxSteps` ran out first.
    @discardableResult
    func runUntilIdle(maxSteps: Int = 100_000) -> Bool {
        var n = 0
        while core.hasWork && n < maxSteps {
            step()
            n += 1
        }
        return !core.hasWork
    }

    /// What request `id`'s stream delivered; `nil` (and a recorded issue) while it is live.
    func outcome(_ id: UInt64) async -> Outcome? {
        guard !live.contains(id), let stream = streams[id] else {
            Issue.record("request \(id) has not ended")
            return nil
        }
        return await collect(stream)
    }

    private func observe() {
        for seq in core.running where !admitted.contains(seq.id) { admitted.append(seq.id) }
        let present = Set(core.running.map(\.id) + core.waiting.map(\.id))
        for id in live.subtracting(present).sorted() {
            live.remove(id)
            ended.append(id)
            endStep[id] = stepsRun
        }
    }
}
