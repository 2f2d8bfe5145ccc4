import CorralCore
@testable import Scheduler
import Testing

/// The admission, batching and limit policy of ARCHITECTURE.md "Scheduler policy".
@Suite("Scheduler policy")
struct SchedulerPolicyTests {
    @Test("FCFS admits equal requests in arrival order, ignores priority, and finishes them in about that order")
    func fcfsServesInArrivalOrder() async throws {
        let config = SchedulerConfig(maxBatchTokens: 32, maxRunningSequences: 4, policy: .fcfs)
        let h = Harness(kvCapacity: 100, slots: 4, config: config)
        var ids: [UInt64] = []
        for i in 0..<30 {  // later arrivals carry *better* priorities, which FCFS must ignore
            ids.append(try h.submit(GenerationRequest(prompt: prompt(10, seed: i), maxTokens: 20, priority: 29 - i)))
        }
        #expect(h.runUntilIdle())
        #expect(h.executorErrors.isEmpty)
        #expect(h.violations == [])
        #expect(h.admitted == ids)
        for (arrival, id) in ids.enumerated() {
            #expect(await h.outcome(id)?.summary?.reason == .length)
            let finish = try #require(h.ended.firstIndex(of: id))
            #expect(abs(finish - arrival) < config.maxRunningSequences, "request \(arrival) finished \(finish)th")
        }
    }

    @Test("FCFS does not starve a large request behind a steady flood of small ones")
    func fcfsDoesNotStarveLargeRequest() async throws {
        let config = SchedulerConfig(maxBatchTokens: 32, maxRunningSequences: 8, policy: .fcfs)
        let h = Harness(kvCapacity: 128, slots: 8, config: config)
        var small: [UInt64] = []
        var big: UInt64 = 0
        let floodSteps = 300
        for step in 0..<floodSteps {
            if step == 10 { big = try h.submit(GenerationRequest(prompt: prompt(100, seed: 99), maxTokens: 20)) }
            small.append(try h.submit(GenerationRequest(prompt: prompt(6, seed: step), maxTokens: 12)))
            h.step()
        }
        #expect(h.runUntilIdle())
        #expect(h.executorErrors.isEmpty)
        #expect(h.violations == [])
        let bigEnd = try #require(h.endStep[big])
        #expect(bigEnd < floodSteps, "the large request only ran once the flood stopped (step \(bigEnd))")
        #expect(await h.outcome(big)?.summary?.reason == .length)
        let bigAdmitted = try #require(h.admitted.firstIndex(of: big))
        for id in small[10...] {  // everything that arrived after the large request
            #expect(bigAdmitted < h.admitted.firstIndex(of: id) ?? -1)
            #expect(await h.outcome(id)?.summary?.reason == .length)
        }
    }

    @Test("Admission order follows the policy: lower priority value first, or arrival under FCFS",
          arguments: SchedulerConfig.Policy.allCases)
    func priorityOrdersAdmission(policy: SchedulerConfig.Policy) throws {
        let h = Harness(kvCapacity: 256, slots: 1, config: SchedulerConfig(maxRunningSequences: 1, policy: policy))
        let priorities = [3, 1, 2, 0, 1]
        let ids = try priorities.map { try h.submit(GenerationRequest(prompt: prompt(8), maxTokens: 4, priority: $0)) }
        #expect(h.runUntilIdle())
        let expected = policy != .fcfs ? [3, 1, 4, 2, 0].map { ids[$0] } : ids
        #expect(h.admitted == expected)
    }

    @Test("A later request of equal priority waits; one of strictly higher priority preempts the running one at once",
          arguments: [SchedulerConfig.Policy.priority, .fair])
    func higherPriorityPreempts(policy: SchedulerConfig.Policy) async throws {
        let h = Harness(kvCapacity: 256, slots: 1, config: SchedulerConfig(maxRunningSequences: 1, policy: policy))
        let a = try h.submit(GenerationRequest(prompt: prompt(8), maxTokens: 10, priority: 2))
        h.step()
        h.step()
        let b = try h.submit(GenerationRequest(prompt: prompt(8, seed: 2), maxTokens: 10, priority: 2))
        h.step()
        #expect(h.running(a) != nil && h.running(b) == nil, "equal priority does not preempt")
        let c = try h.submit(GenerationRequest(prompt: prompt(8, seed: 3), maxTokens: 10, priority: 0))
        h.step()
        #expect(h.running(c) != nil, "the higher-priority request runs at the next step")
        #expect(h.runUntilIdle())
        #expect(h.admitted.filter { $0 != a } == [c, b])
        let outcome = try #require(await h.outcome(a))
        #expect(outcome.summary?.preemptions == 1)
        #expect(outcome.tokens == h.executor.chain(after: prompt(8), count: 10), "no token lost or duplicated")
    }

    @Test("The bounded queue rejects with .overloaded at its bound and admits again once it drains")
    func boundedQueueRejectsAtBound() async throws {
        let config = SchedulerConfig(maxRunningSequences: 1, maxWaitingRequests: 3, maxWaitingTokens: 50, policy: .fcfs)
        let h = Harness(kvCapacity: 256, slots: 1, config: config)
        for i in 0..<3 { #expect(h.submitError(GenerationRequest(prompt: prompt(10, seed: i), maxTokens: 5)) == nil) }
        let error = h.submitError(GenerationRequest(prompt: prompt(10), maxTokens: 5))
        guard case .overloaded(let retryAfter) = error else {
            Issue.record("expected .overloaded, got \(String(describing: error))")
            return
        }
        #expect((1...60).contains(retryAfter))
        #expect(h.core.counters.rejected == 1)
        #expect(h.core.waiting.count == 3)

        h.step()  // one request leaves the queue for the batch
        #expect(h.core.waiting.count == 2)
        #expect(h.submitError(GenerationRequest(prompt: prompt(10), maxTokens: 5)) == nil)
        #expect(h.runUntilIdle())

        // The token bound: 30 + 30 waiting tokens is over 50, 30 + 20 is not.
        #expect(h.submitError(GenerationRequest(prompt: prompt(30), maxTokens: 5)) == nil)
        #expect(h.submitError(GenerationRequest(prompt: prompt(30), maxTokens: 5)) != nil)
        #expect(h.submitError(GenerationRequest(prompt: prompt(20), maxTokens: 5)) == nil)
        #expect(h.core.counters.rejected == 2)
        #expect(h.runUntilIdle())
        #expect(h.submitError(GenerationRequest(prompt: prompt(30), maxTokens: 5)) == nil)
        #expect(h.runUntilIdle())
        #expect(h.core.counters.succeeded == 7)
    }

    @Test("A long prompt prefills in chunks while every decoding stream still gets a token each step")
    func longPromptDoesNotStallDecoding() async throws {
        let config = SchedulerConfig(maxBatchTokens: 32, maxRunningSequences: 8, policy: .fcfs)
        let h = Harness(kvCapacity: 4096, slots: 8, config: config)
        let short = try (0..<4).map { i in try h.submit(GenerationRequest(prompt: prompt(4, seed: i), maxTokens: 200)) }
        h.step()
        #expect(short.allSatisfy { h.running($0)?.isDecoding == true })

        let long = try h.submit(GenerationRequest(prompt: prompt(300, seed: 7), maxTokens: 5))
        var prefillSteps = 0
        while h.running(long)?.isDecoding != true {
            let before = short.map { h.running($0)?.tokens.count ?? -1 }
            let computedBefore = h.running(long)?.computed ?? 0
            let plan = h.step()
            prefillSteps += 1
            let after = short.map { h.running($0)?.tokens.count ?? -1 }
            #expect(after == before.map { $0 + 1 }, "a decoding stream missed a token in step \(prefillSteps)")
            #expect(plan.work.reduce(0) { $0 + $1.tokens.count } <= config.maxBatchTokens)
            let chunk = (h.running(long)?.computed ?? 0) - computedBefore
            #expect(chunk == min(config.maxBatchTokens - short.count, 300 - computedBefore))
            try #require(prefillSteps < 100)
        }
        #expect(prefillSteps == (300 + 27) / 28)  // 28 = 32 budget - 4 decode tokens
        #expect(h.executor.steps.allSatisfy { $0.prefill + $0.decode <= config.maxBatchTokens })
        #expect(h.runUntilIdle())
        #expect(h.violations == [])
        #expect(await h.outcome(long)?.summary?.completionTokens == 5)
    }

    @Test("A tiny token budget with many sequences never overfills a step")
    func tinyBudgetNeverOverfillsStep() async throws {
        let config = SchedulerConfig(maxBatchTokens: 4, maxRunningSequences: 8, policy: .fcfs)
        let h = Harness(kvCapacity: 512, slots: 8, config: config)
        let ids = try (0..<8).map { i in try h.submit(GenerationRequest(prompt: prompt(1 + i % 3, seed: i), maxTokens: 10)) }
        #expect(h.runUntilIdle())
        #expect(h.executorErrors.isEmpty)
        #expect(h.violations == [])
        for id in ids { #expect(await h.outcome(id)?.summary?.reason == .length) }
    }

    @Test("Prompt plus max_tokens beyond the context limit fails at submit with .contextLengthExceeded")
    func contextLengthExceededAtSubmit() {
        let h = Harness(kvCapacity: 256, config: SchedulerConfig(maxModelLength: 64))
        #expect(h.submitError(GenerationRequest(prompt: prompt(60), maxTokens: 5))
            == .contextLengthExceeded(requested: 65, limit: 64))
        #expect(h.submitError(GenerationRequest(prompt: prompt(60), maxTokens: 4)) == nil)
        #expect(h.core.waiting.count == 1)
        #expect(h.core.counters.rejected == 0)

        // With no configured length the KV capacity is the limit.
        let open = Harness(kvCapacity: 100, config: SchedulerConfig())
        #expect(open.submitError(GenerationRequest(prompt: prompt(90), maxTokens: 11))
            == .contextLengthExceeded(requested: 101, limit: 100))
        #expect(open.submitError(GenerationRequest(prompt: [], maxTokens: 1)) == .invalidRequest("the prompt is empty"))
        #expect(open.submitError(GenerationRequest(prompt: prompt(4), maxTokens: 0)) != nil)
    }

    @Test("A request still waiting past its queue deadline fails with .queueTimeout")
    func queueDeadlineExpires() async throws {
        let h = Harness(kvCapacity: 256, slots: 1, config: SchedulerConfig(maxRunningSequences: 1, policy: .fcfs))
        let a = try h.submit(GenerationRequest(prompt: prompt(4), maxTokens: 50))
        let b = try h.submit(GenerationRequest(prompt: prompt(4), maxTokens: 5, queueTimeout: 0.05))
        let c = try h.submit(GenerationRequest(prompt: prompt(4), maxTokens: 5, queueTimeout: 1000))
        #expect(h.runUntilIdle())
        #expect(await h.outcome(a)?.summary?.reason == .length)
        let expired = try #require(await h.outcome(b))
        #expect(expired.error == .queueTimeout)
        #expect(expired.tokens.isEmpty)
        #expect(!h.admitted.contains(b))
        #expect(try #require(h.endStep[b]) < h.endStep[a] ?? -1, "it expired while the first request ran")
        #expect(await h.outcome(c)?.summary?.reason == .length)
    }

    @Test("With serial prefill, prompts start one per step while others decode, and all finish exactly")
    func serialPrefillStartsOnePromptPerStepBesideDecoders() async throws {
        var config = SchedulerConfig(maxBatchTokens: 256, maxRunningSequences: 4, policy: .fcfs)
        config.serialPrefill = true
        let h = Harness(kvCapacity: 1024, slots: 4, config: config)
        let first = try h.submit(GenerationRequest(prompt: prompt(10), maxTokens: 30))
        h.step()
        let rest = try (0..<3).map { i in try h.submit(GenerationRequest(prompt: prompt(20, seed: 2 + i), maxTokens: 5)) }
        var started: [Int] = []
        for _ in 0..<3 {
            h.step()
            started.append(h.core.running.count)
        }
        #expect(started == [2, 3, 4], "one new prompt per step beside the decoding one")
        #expect(h.runUntilIdle())
        for id in [first] + rest {
            let outcome = try #require(await h.outcome(id))
            #expect(outcome.tokens == h.executor.chain(after: h.requests[id]!.prompt, count: outcome.tokens.count))
        }
        #expect(h.violations == [])
    }
}
