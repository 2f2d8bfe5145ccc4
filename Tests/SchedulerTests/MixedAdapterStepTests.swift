import CorralCore
@testable import Scheduler
import Testing

/// Multi-LoRA where the executor mixes adapters in a step (Corral's patched engine), on the
/// simulated engine with `mixesAdapters` on: its tokens still shift by each sequence's own
/// adapter, so a sequence run under another's gets the wrong ones. The random load runs in
/// both modes in `AdapterSchedulingTests`.
@Suite("LoRA adapters mixed in a step")
struct MixedAdapterStepTests {
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
