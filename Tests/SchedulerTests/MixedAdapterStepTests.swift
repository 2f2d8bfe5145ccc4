import CorralCore
@testable import Scheduler
import Testing

/// Multi-LoRA where the executor mixes adapters in a step (Corral's patched engine), on the
/// simulated engine with `mixesAdapters` on: its tokens still shift by each sequence's own
/// adapter, so a sequence run under another's gets the wrong ones.
@Suite("LoRA adapters mixed in a step")
struct MixedAdapterStepTests {
    @Test("Any mix of adapters shares a step: no turns, no switches, each request's own tokens, exact KV",
          arguments: [1, 2, 3, 4] as [UInt64])
    func mixedStepsKeepEachAdaptersOutput(seed: UInt64) async throws {
        let h = Harness(kvCapacity: 256, slots: 6, config: AdapterSchedulingTests.config(maxLoras: 8, caching: seed > 2))
        h.executor.mixesAdapters = true
        h.executor.partitioned = seed % 2 == 1
        let adapters = [0] + (try AdapterSchedulingTests.load(4, into: h))
        var rng = SplitMix64(seed: seed)
        var ids: [(UInt64, GenerationRequest)] = []
        var step = 0, mixedSteps = 0
        while ids.count < 80 || h.core.hasWork {
            if ids.count < 80, Int.random(in: 0...1, using: &rng) == 0 {
                let r = AdapterSchedulingTests.request(prompt(Int.random(in: 4...40, using: &rng), seed: Int.random(in: 0...2, using: &rng)),
                                                       adapter: adapters[Int.random(in: 0..<adapters.count, using: &rng)],
                                                       maxTokens: Int.random(in: 1...20, using: &rng))
                ids.append((try h.submit(r), r))
            }
            let plan = h.step()
            if Set(plan.work.map(\.adapter)).count > 1 { mixedSteps += 1 }
            step += 1
            try #require(step < 50_000, "the workload did not drain")
        }
        #expect(h.executorErrors.isEmpty)
        #expect(h.violations == [])
        #expect(mixedSteps > 0, "steps mixed adapters")
        #expect(h.core.adapters.switches == 0, "no turns are taken")
        for (id, request) in ids {
            let outcome = try #require(await h.outcome(id))
            #expect(outcome.ends == 1)
            #expect(outcome.tokens == h.executor.chain(after: request.prompt, count: outcome.tokens.count, adapter: request.adapter),
                    "request \(id) (adapter \(request.adapter)) got another adapter's tokens")
        }
    }

    @Test("Decoding sequences of three adapters and the base all advance in every step")
    func everyAdapterAdvancesEveryStep() throws {
        var config = AdapterSchedulingTests.config()
        config.maxRunningSequences = 8
        let h = Harness(kvCapacity: 2048, slots: 8, config: config)
        h.executor.mixesAdapters = true
        let adapters = [0] + (try AdapterSchedulingTests.load(3, into: h))
        for (i, a) in adapters.enumerated() { try h.submit(AdapterSchedulingTests.request(prompt(4, seed: i), adapter: a, maxTokens: 100)) }
        while h.core.running.contains(where: { !$0.isDecoding }) && h.stepsRun < 20 { h.step() }
        for _ in 0..<10 {
            #expect(Set(h.step().work.map(\.adapter)) == Set(adapters))
        }
    }

    @Test("At most maxLoras adapters run at once; a request held by the limit holds the queue behind it")
    func maxLorasStillHolds() throws {
        let h = Harness(kvCapacity: 512, slots: 6, config: AdapterSchedulingTests.config(maxLoras: 1))
        h.executor.mixesAdapters = true
        let (a, b) = try { let ids = try AdapterSchedulingTests.load(2, into: h); return (ids[0], ids[1]) }()
        try h.submit(AdapterSchedulingTests.request(prompt(4, seed: 1), adapter: a, maxTokens: 6))
        try h.submit(AdapterSchedulingTests.request(prompt(4, seed: 2), adapter: b, maxTokens: 6))
        try h.submit(AdapterSchedulingTests.request(prompt(4, seed: 3), adapter: 0, maxTokens: 6))
        var seen: [Set<Int>] = []
        while h.core.hasWork && h.stepsRun < 100 {
            seen.append(Set(h.step().work.map(\.adapter)).subtracting([0]))
        }
        #expect(seen.allSatisfy { $0.count <= 1 }, "\(seen)")
        #expect(seen.contains([a]) && seen.contains([b]))
        #expect(h.executorErrors.isEmpty)
    }
}
