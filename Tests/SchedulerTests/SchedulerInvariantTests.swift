import CorralCore
@testable import Scheduler
import Testing

/// Properties that must hold under any load: every request ends once, KV stays within
/// capacity, preemption and cancellation lose nothing and leak nothing.
@Suite("Scheduler invariants")
struct SchedulerInvariantTests {
    /// One random request and what the workload does to it.
    struct Planned {
        var arrivalStep: Int
        var request: GenerationRequest
        var cancelAfter: Int?
    }

    static func workload(seed: UInt64, count: Int) -> [Planned] {
        var rng = SplitMix64(seed: seed)
        var step = 0
        return (0..<count).map { _ in
            step += Int.random(in: 0...2, using: &rng)
            let length = Int.random(in: 1...80, using: &rng)
            let tokens = (0..<length).map { _ in Token(Int.random(in: 1...999, using: &rng)) }
            let timeout: Double? = Int.random(in: 0..<10, using: &rng) == 0 ? Double.random(in: 0.02...0.5, using: &rng) : nil
            let request = GenerationRequest(prompt: tokens, maxTokens: Int.random(in: 1...60, using: &rng),
                                            priority: Int.random(in: 0...3, using: &rng), queueTimeout: timeout)
            let cancel = Int.random(in: 0..<7, using: &rng) == 0 ? Int.random(in: 0...40, using: &rng) : nil
            return Planned(arrivalStep: step, request: request, cancelAfter: cancel)
        }
    }

    @Test("Random workloads: every request ends exactly once, with the exact tokens, KV within capacity",
          arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func everyRequestEndsExactlyOnceUnderRandomLoad(seed: UInt64) async throws {
        let policy: SchedulerConfig.Policy = seed % 2 == 0 ? .fcfs : .priority
        let config = SchedulerConfig(maxBatchTokens: 48, maxRunningSequences: 6, maxWaitingRequests: 1000,
                                     maxWaitingTokens: 1_000_000, policy: policy)
        let h = Harness(kvCapacity: 256, slots: 6, config: config)
        if seed % 3 == 0 { h.executor.eogEvery = 23 }  // some requests end on an EOG token
        h.executor.partitioned = seed % 2 == 1  // slots are packed by moving running sequences down
        let plan = Self.workload(seed: seed, count: 200)

        var ids: [UInt64] = []
        var cancels: [Int: [UInt64]] = [:]
        var cancelled: Set<UInt64> = []
        var step = 0
        while ids.count < plan.count || h.core.hasWork {
            while ids.count < plan.count, plan[ids.count].arrivalStep <= step {
                let p = plan[ids.count]
                let id = try h.submit(p.request)
                ids.append(id)
                if let after = p.cancelAfter { cancels[step + after, default: []].append(id) }
            }
            for id in cancels[step] ?? [] {
                h.core.cancel(id)
                cancelled.insert(id)
            }
            h.step()
            step += 1
            try #require(step < 100_000, "the workload did not drain")
        }

        #expect(h.executorErrors.isEmpty)
        #expect(h.violations == [])
        #expect(h.executor.peakUsed <= h.executor.kvCapacity)
        #expect(h.executor.used.allSatisfy { $0 == 0 })
        #expect(h.core.counters.succeeded + h.core.counters.failed == plan.count)
        #expect(h.core.counters.preemptions > 0, "the workload should squeeze KV hard enough to preempt")
        if h.executor.partitioned { #expect(h.core.counters.slotMoves > 0, "the workload should leave holes to pack") }

        for (id, p) in zip(ids, plan) {
            let outcome = try #require(await h.outcome(id))
            #expect(outcome.ends == 1, "request \(id) ended \(outcome.ends) times")
            #expect(outcome.eventsAfterEnd == 0)
            let chain = h.executor.chain(after: p.request.prompt, count: outcome.tokens.count)
            #expect(outcome.tokens == chain, "request \(id) got tokens off the deterministic chain")
            if let summary = outcome.summary {
                #expect(summary.completionTokens == outcome.tokens.count)
                #expect(summary.promptTokens == p.request.prompt.count)
                #expect(outcome.text == h.executor.text(of: outcome.tokens))
                switch summary.reason {
                case .length: #expect(outcome.tokens.count == p.request.maxTokens)
                case .stop: #expect(outcome.tokens.last.map(h.executor.isEndOfGeneration) == true)
                }
            } else {
                // Only cancellation and the queue deadline may fail a request here.
                let error = try #require(outcome.error)
                switch error {
                case .cancelled: #expect(cancelled.contains(id))
                case .queueTimeout:
                    #expect(p.request.queueTimeout != nil)
                    #expect(outcome.tokens.isEmpty)
                default: Issue.record("request \(id) failed with \(error)")
                }
            }
        }
    }

    @Test("KV use never exceeds capacity, even with more demand than cells")
    func kvUseNeverExceedsCapacity() async throws {
        let config = SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 8, policy: .fcfs)
        let h = Harness(kvCapacity: 120, slots: 8, config: config)
        var ids: [UInt64] = []
        for i in 0..<24 { ids.append(try h.submit(GenerationRequest(prompt: prompt(10 + i % 30, seed: i), maxTokens: 40))) }
        var maxUsed = 0
        while h.core.hasWork {
            h.step()
            maxUsed = max(maxUsed, h.executor.used.reduce(0, +))
            try #require(h.stepsRun < 50_000)
        }
        #expect(h.executorErrors.isEmpty, "the executor refused a step: \(h.executorErrors)")
        #expect(h.violations == [])
        #expect(h.executor.peakUsed <= 120)
        #expect(maxUsed <= 120)
        #expect(h.executor.peakUsed > 100, "the test should actually fill the cache")
        for id in ids { #expect(await h.outcome(id)?.summary?.reason == .length) }
    }

    @Test("Preemption under a KV squeeze loses and duplicates no token")
    func preemptionLosesAndDuplicatesNothing() async throws {
        let config = SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 4, policy: .fcfs)
        let h = Harness(kvCapacity: 96, slots: 4, config: config)
        var ids: [UInt64] = []
        for i in 0..<4 { ids.append(try h.submit(GenerationRequest(prompt: prompt(16, seed: i), maxTokens: 60))) }
        #expect(h.runUntilIdle())
        #expect(h.executorErrors.isEmpty)
        #expect(h.violations == [])
        #expect(h.core.counters.preemptions > 0)

        var preemptionsSeen = 0
        for id in ids {
            let outcome = try #require(await h.outcome(id))
            let request = try #require(h.requests[id])
            let expected = h.executor.chain(after: request.prompt, count: 60)
            #expect(outcome.tokens == expected)
            #expect(outcome.text == h.executor.text(of: expected))
            #expect(outcome.summary?.reason == .length)
            #expect(outcome.summary?.completionTokens == 60)
            preemptionsSeen += outcome.summary?.preemptions ?? 0
        }
        #expect(preemptionsSeen == h.core.counters.preemptions)
    }

    @Test("The preemption victim is the lowest-priority, newest sequence")
    func preemptionVictimIsLowestPriorityNewest() throws {
        let h = Harness(kvCapacity: 256, slots: 4, config: SchedulerConfig(maxRunningSequences: 4, policy: .priority))
        let a = try h.submit(GenerationRequest(prompt: prompt(8), maxTokens: 10, priority: 5))
        let b = try h.submit(GenerationRequest(prompt: prompt(8), maxTokens: 10, priority: 1))
        let c = try h.submit(GenerationRequest(prompt: prompt(8), maxTokens: 10, priority: 5))
        h.step()
        #expect(h.core.victimForPreemption()?.id == c)
        h.core.cancel(c)
        h.step()
        #expect(h.core.victimForPreemption()?.id == a)
        #expect(h.running(b) != nil)
    }

    @Test("Cancelling running and waiting requests returns all KV and slots at the next plan")
    func cancellationReturnsCapacity() async throws {
        let config = SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 4, policy: .fcfs)
        let h = Harness(kvCapacity: 400, slots: 4, config: config)
        var ids: [UInt64] = []
        for i in 0..<5 { ids.append(try h.submit(GenerationRequest(prompt: prompt(12, seed: i), maxTokens: 200))) }
        for _ in 0..<5 { h.step() }
        #expect(h.core.running.count == 4)
        #expect(h.core.waiting.count == 1)
        #expect(h.core.kvUsed > 0)

        for id in ids { h.core.cancel(id) }
        h.step()
        #expect(h.core.running.isEmpty)
        #expect(h.core.waiting.isEmpty)
        #expect(h.core.kvUsed == 0)
        #expect(h.executor.used.allSatisfy { $0 == 0 })
        #expect(h.core.snapshot.kvUsed == 0)

        for (i, id) in ids.enumerated() {
            let outcome = try #require(await h.outcome(id))
            #expect(outcome.error == .cancelled)
            #expect(outcome.ends == 1)
            #expect(outcome.tokens.count == (i < 4 ? 5 : 0), "running ones streamed 5 tokens before the cancel")
            #expect(outcome.tokens == h.executor.chain(after: h.requests[id]!.prompt, count: outcome.tokens.count))
        }

        // Every slot is free again: a full batch of new requests is admitted at once.
        let fresh = try (0..<4).map { i in try h.submit(GenerationRequest(prompt: prompt(12, seed: 9 + i), maxTokens: 3)) }
        h.step()
        #expect(Set(h.core.running.map(\.id)) == Set(fresh))
        #expect(h.runUntilIdle())
        #expect(h.executorErrors.isEmpty)
        #expect(h.violations == [])
    }
}
