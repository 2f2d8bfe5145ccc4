import Foundation
import CorralCore
import Scheduler
import Synchronization
import Testing

/// Counts calls, from any thread.
final class CallCounter: Sendable {
    private let count = Mutex(0)
    func tick() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

struct TimedOut: Error {}

/// Runs `body`, or throws `TimedOut` after `seconds`.
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask(operation: body)
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(within seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}

/// The threaded scheduler: the same core on its engine thread, driven through `submit`.
@Suite("BatchScheduler")
struct BatchSchedulerTests {
    /// A monotonic clock in seconds that counts how often the scheduler reads it
    /// (it reads it once per planned step).
    static func countingClock(_ counter: CallCounter) -> @Sendable () -> Double {
        let start = ContinuousClock.now
        return {
            counter.tick()
            let d = ContinuousClock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
    }

    @Test("Concurrent submissions all finish with their exact tokens, and the idle loop does not spin")
    func concurrentSubmissionsFinishAndIdleDoesNotSpin() async throws {
        let executor = SimulatedExecutor(kvCapacity: 512, slotCount: 8, maxBatchTokens: 64)
        let clockCalls = CallCounter()
        let scheduler = BatchScheduler(executor: executor, config: SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 8),
                                       clock: Self.countingClock(clockCalls))
        scheduler.start()
        defer { scheduler.shutdown() }

        let requests = (0..<32).map { i in GenerationRequest(prompt: prompt(5 + i % 20, seed: i), maxTokens: 10 + i, priority: i % 3) }
        let outcomes = try await withTimeout(seconds: 20) {
            try await withThrowingTaskGroup(of: (Int, Outcome).self) { group in
                for (i, request) in requests.enumerated() {
                    group.addTask { (i, await collect(try scheduler.submit(request))) }
                }
                var all: [Int: Outcome] = [:]
                for try await (i, outcome) in group { all[i] = outcome }
                return all
            }
        }
        #expect(outcomes.count == requests.count)
        for (i, request) in requests.enumerated() {
            let outcome = try #require(outcomes[i])
            #expect(outcome.ends == 1)
            #expect(outcome.summary?.reason == .length)
            #expect(outcome.tokens == executor.chain(after: request.prompt, count: request.maxTokens))
        }
        let snapshot = scheduler.snapshot
        #expect(snapshot.running == 0 && snapshot.waiting == 0 && snapshot.kvUsed == 0)
        #expect(snapshot.counters.succeeded == requests.count)

        // Idle: no steps run and no plans are made.
        try await Task.sleep(for: .milliseconds(20))
        let steps = executor.steps.count
        let calls = clockCalls.value
        try await Task.sleep(for: .milliseconds(100))
        #expect(executor.steps.count == steps)
        #expect(clockCalls.value == calls, "the engine loop kept planning while idle")

        // New work wakes it up again.
        let again = try await withTimeout(seconds: 10) {
            await collect(try scheduler.submit(GenerationRequest(prompt: prompt(4), maxTokens: 3)))
        }
        #expect(again.summary?.reason == .length)
    }

    @Test("A client that stops listening has its sequence cancelled and its KV freed")
    func droppedClientFreesKV() async throws {
        let executor = SimulatedExecutor(kvCapacity: 4096, slotCount: 4, maxBatchTokens: 64)
        executor.stepCost = { _, _ in Thread.sleep(forTimeInterval: 0.001); return 0.001 }
        let scheduler = BatchScheduler(executor: executor, config: SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 4))
        scheduler.start()
        defer { scheduler.shutdown() }

        let stream = try scheduler.submit(GenerationRequest(prompt: prompt(8), maxTokens: 4000))  // >= 4 s of steps
        let consumer = Task { await collect(stream) }
        #expect(await eventually(within: 5) { scheduler.snapshot.running == 1 && scheduler.snapshot.kvUsed > 8 })
        consumer.cancel()
        #expect(await eventually(within: 5) { scheduler.snapshot.counters.failed == 1 })
        let snapshot = scheduler.snapshot
        #expect(snapshot.running == 0)
        #expect(snapshot.kvUsed == 0)
        #expect(snapshot.counters.succeeded == 0)
        _ = await consumer.value
    }

    @Test("Shutdown fails unfinished requests with .shuttingDown and refuses new ones")
    func shutdownFailsPendingRequests() async throws {
        let executor = SimulatedExecutor(kvCapacity: 4096, slotCount: 2, maxBatchTokens: 64)
        executor.stepCost = { _, _ in Thread.sleep(forTimeInterval: 0.001); return 0.001 }
        let scheduler = BatchScheduler(executor: executor, config: SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 2))
        scheduler.start()
        let streams = try (0..<3).map { i in try scheduler.submit(GenerationRequest(prompt: prompt(8, seed: i), maxTokens: 3000)) }
        #expect(await eventually(within: 5) { scheduler.snapshot.running == 2 })
        scheduler.shutdown()
        for stream in streams {
            let outcome = try await withTimeout(seconds: 10) { await collect(stream) }
            #expect(outcome.error == .shuttingDown)
            #expect(outcome.ends == 1)
        }
        var refused: SchedulerError?
        do throws(SchedulerError) {
            _ = try scheduler.submit(GenerationRequest(prompt: prompt(4), maxTokens: 3))
        } catch {
            refused = error
        }
        #expect(refused == .shuttingDown)
    }
}
