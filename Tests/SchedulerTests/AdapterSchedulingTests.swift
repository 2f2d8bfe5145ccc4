import CorralCore
@testable import Scheduler
import Testing

/// Multi-LoRA on the simulated engine, which refuses a step that mixes adapters unless told
/// it may (`mixesAdapters`, as Corral's patched engine can; upstream llama.cpp's pass cannot)
/// and shifts every token by the adapter's id, so a request
/// run under the wrong adapter, or fed another adapter's cached KV, gets the wrong tokens.
@Suite("LoRA adapter scheduling")
struct AdapterSchedulingTests {
    static func config(maxLoras: Int = 8, caching: Bool = false) -> SchedulerConfig {
        var config = SchedulerConfig(maxBatchTokens: 48, maxRunningSequences: 6, maxWaitingRequests: 1000,
                                     maxWaitingTokens: 1_000_000, policy: .fcfs, prefixCaching: caching, prefixBlockSize: 8)
        config.maxLoras = maxLoras
        return config
    }

    /// Loads `count` simulated adapters into the harness's executor and scheduler.
    static func load(_ count: Int, into h: Harness) throws -> [Int] {
        try (0..<count).map { _ in
            let id = try h.executor.loadAdapter(path: "adapter", maxRank: 16).id
            h.core.loadedAdapters.insert(id)
            return id
        }
    }

    static func request(_ prompt: [Token], adapter: Int, maxTokens: Int = 12) -> GenerationRequest {
        var r = GenerationRequest(prompt: prompt, maxTokens: maxTokens)
        r.adapter = adapter
        return r
    }

    @Test("Random mixed-adapter load, steps mixing adapters or one adapter each: own tokens, exact KV, maxLoras kept",
          arguments: [1, 2, 3, 4] as [UInt64], [false, true])
    func mixedLoadKeepsEachAdaptersOutput(seed: UInt64, mixes: Bool) async throws {
        let h = Harness(kvCapacity: 256, slots: 6, config: Self.config(maxLoras: seed % 2 == 0 ? 2 : 8, caching: seed > 2))
        h.executor.partitioned = seed % 2 == 1
        h.executor.mixesAdapters = mixes
        let adapters = [0] + (try Self.load(4, into: h))
        var rng = SplitMix64(seed: seed)
        var ids: [(UInt64, GenerationRequest)] = []
        var step = 0, mixedSteps = 0
        var mostRunning = 0
        while ids.count < 80 || h.core.hasWork {
            if ids.count < 80, Int.random(in: 0...1, using: &rng) == 0 {
                // Few distinct prompts, so the prefix cache sees the same tokens under many adapters.
                let r = Self.request(prompt(Int.random(in: 4...40, using: &rng), seed: Int.random(in: 0...2, using: &rng)),
                                     adapter: adapters[Int.random(in: 0..<adapters.count, using: &rng)],
                                     maxTokens: Int.random(in: 1...20, using: &rng))
                ids.append((try h.submit(r), r))
            }
            if Set(h.step().work.map(\.adapter)).count > 1 { mixedSteps += 1 }
            mostRunning = max(mostRunning, Set(h.core.running.map(\.request.adapter)).subtracting([0]).count)
            step += 1
            try #require(step < 50_000, "the workload did not drain")
        }
        #expect(h.executorErrors.isEmpty, "a step mixed adapters the executor cannot, or named an unloaded one")
        #expect(h.violations == [])
        #expect(mostRunning <= h.config.maxLoras)
        if mixes {
            #expect(mixedSteps > 0, "steps mixed adapters")
            #expect(h.core.adapters.switches == 0, "no turns are taken")
        } else {
            #expect(Set(h.executor.stepAdapters).count == adapters.count, "every adapter ran")
            #expect(h.core.adapters.switches > 0)
        }
        for (id, request) in ids {
            let outcome = try #require(await h.outcome(id))
            #expect(outcome.ends == 1)
            #expect(outcome.tokens == h.executor.chain(after: request.prompt, count: outcome.tokens.count, adapter: request.adapter),
                    "request \(id) (adapter \(request.adapter)) got another adapter's tokens")
        }
    }

    @Test("Adapter groups take turns of a few steps: each waits at most (groups - 1) turns")
    func groupsTakeTurns() throws {
        var config = Self.config()
        config.maxRunningSequences = 8
        let h = Harness(kvCapacity: 2048, slots: 8, config: config)
        let adapters = try Self.load(2, into: h)
        // Five sequences of the base model, one of each adapter: turns go by group, not by size.
        for i in 0..<5 { try h.submit(Self.request(prompt(4, seed: i), adapter: 0, maxTokens: 200)) }
        for a in adapters { try h.submit(Self.request(prompt(4, seed: 9), adapter: a, maxTokens: 200)) }
        while h.core.running.count < 7 && h.stepsRun < 50 { h.step() }
        let start = h.executor.stepAdapters.count
        for _ in 0..<24 { h.step() }
        let served = Array(h.executor.stepAdapters[start...])
        let turn = AdapterGroups.turnSteps
        for group in [0] + adapters {
            let at = served.indices.filter { served[$0] == group }
            #expect(abs(at.count - 8) <= turn, "group \(group) got \(at.count) of 24 steps")
            #expect(zip(at, at.dropFirst()).allSatisfy { $1 - $0 <= 2 * turn + 1 }, "\(served)")
        }
        // Switches: one per turn, not one per step.
        #expect(zip(served, served.dropFirst()).filter { $0 != $1 }.count <= 24 / turn)
    }

    @Test("At most maxLoras adapters run; a request held by the limit starts once one drains")
    func adapterLimitHoldsThenAdmits() throws {
        let h = Harness(kvCapacity: 512, slots: 6, config: Self.config(maxLoras: 1))
        let adapters = try Self.load(2, into: h)
        let first = try h.submit(Self.request(prompt(4), adapter: adapters[0], maxTokens: 6))
        let held = try h.submit(Self.request(prompt(4, seed: 2), adapter: adapters[1], maxTokens: 6))
        // Arrived after the held one, for the running adapter: it must not jump the queue.
        let later = try h.submit(Self.request(prompt(4, seed: 3), adapter: adapters[0], maxTokens: 6))
        let base = try h.submit(Self.request(prompt(4, seed: 4), adapter: 0, maxTokens: 6))
        var most = 0
        while h.core.hasWork && h.stepsRun < 200 {
            h.step()
            most = max(most, Set(h.core.running.map(\.request.adapter)).subtracting([0]).count)
        }
        #expect(most == 1)
        #expect(h.executorErrors.isEmpty)
        let order = h.admitted
        #expect(order.first == first)
        #expect(order.firstIndex(of: held)! < order.firstIndex(of: later)!, "the held request keeps its place")
        #expect(order.contains(base))
    }

    @Test("Cached prefixes are per adapter: the same prompt under another adapter is computed afresh")
    func prefixCacheIsScopedByAdapter() async throws {
        let h = Harness(kvCapacity: 512, slots: 4, config: Self.config(caching: true))
        let adapters = try Self.load(2, into: h)
        let p = prompt(33)
        func run(_ adapter: Int) async throws -> Outcome {
            let id = try h.submit(Self.request(p, adapter: adapter, maxTokens: 4))
            h.runUntilIdle()
            return try #require(await h.outcome(id))
        }
        let a = try await run(adapters[0])
        let again = try await run(adapters[0])
        let b = try await run(adapters[1])
        let base = try await run(0)
        #expect(again.summary?.cachedTokens ?? 0 >= 24, "a repeat under the same adapter reuses its KV")
        #expect(b.summary?.cachedTokens == 0 && base.summary?.cachedTokens == 0)
        #expect(a.tokens == again.tokens && a.tokens != b.tokens && b.tokens != base.tokens)
        #expect(b.tokens == h.executor.chain(after: p, count: b.tokens.count, adapter: adapters[1]))
    }

    @Test("A retired adapter drains its requests, then unloads; new requests are refused")
    func retiredAdapterDrainsThenUnloads() async throws {
        let h = Harness(kvCapacity: 512, slots: 4, config: Self.config())
        let adapter = try Self.load(1, into: h)[0]
        let id = try h.submit(Self.request(prompt(8), adapter: adapter, maxTokens: 10))
        h.step()
        h.core.loadedAdapters.remove(adapter)
        h.core.retiring.insert(adapter)
        #expect(h.submitError(Self.request(prompt(8), adapter: adapter)) != nil)
        h.step()
        #expect(h.executor.adapters.contains(adapter), "not unloaded while a request runs under it")
        h.runUntilIdle()
        let outcome = try #require(await h.outcome(id))
        #expect(outcome.summary?.completionTokens == 10)
        #expect(!h.executor.adapters.contains(adapter) && h.core.retiring.isEmpty)
        #expect(h.submitError(Self.request(prompt(8), adapter: 99)) != nil, "an unknown adapter is refused")
    }

    @Test("BatchScheduler loads adapters on its thread and reports the engine's refusal")
    func batchSchedulerLoadsAdapters() async throws {
        let executor = SimulatedExecutor(kvCapacity: 256, slotCount: 4, maxBatchTokens: 48)
        let scheduler = BatchScheduler(executor: executor, config: Self.config())
        scheduler.start()
        defer { scheduler.shutdown() }
        let loaded = try await scheduler.loadAdapter(path: "a", maxRank: 16)
        await #expect(throws: SchedulerError.self) { try await scheduler.loadAdapter(path: "bad", maxRank: 16) }
        await #expect(throws: SchedulerError.self) { try await scheduler.loadAdapter(path: "a", maxRank: 4) }
        var request = GenerationRequest(prompt: prompt(6), maxTokens: 5)
        request.adapter = loaded.id
        let outcome = await collect(try scheduler.submit(request))
        #expect(outcome.tokens == executor.chain(after: prompt(6), count: 5, adapter: loaded.id))
        scheduler.retireAdapter(loaded.id)
        for _ in 0..<200 where executor.adapters.contains(loaded.id) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!executor.adapters.contains(loaded.id))
    }
}
