import CorralCore
@testable import Scheduler
import Testing

/// The partitioned layout with LoRA adapters: llama.cpp runs a pass per run of consecutive
/// slot ids, and a step serves one adapter's group, so each group's slots must stay
/// consecutive (`KVCacheManager.regroup`) or every step of it costs several passes.
@Suite("LoRA adapter groups in the partitioned layout")
struct AdapterPassTests {
    /// A closed loop: `clients` requests in flight, adapters in turn, until `total` ended.
    /// - Returns: the harness after the load drained.
    static func closedLoop(adapters count: Int, clients: Int = 16, total: Int = 200, mixes: Bool = false) throws -> Harness {
        var config = SchedulerConfig(maxBatchTokens: 512, maxRunningSequences: clients, maxWaitingRequests: 1000,
                                     maxWaitingTokens: 1_000_000, policy: .fcfs, prefixCaching: true, prefixBlockSize: 16)
        config.maxLoras = 8
        let h = Harness(kvCapacity: clients * 512, slots: clients, config: config)
        h.executor.partitioned = true
        h.executor.mixesAdapters = mixes
        let adapters = count == 0 ? [0] : try AdapterSchedulingTests.load(count, into: h)
        var rng = SplitMix64(seed: 7)
        var submitted = 0
        while submitted < total || h.core.hasWork {
            while submitted < total && submitted - h.ended.count < clients {
                var r = GenerationRequest(prompt: prompt(40, seed: 1000 + submitted),
                                          maxTokens: Int.random(in: 48...80, using: &rng))
                r.adapter = adapters[submitted % adapters.count]
                try h.submit(r)
                submitted += 1
            }
            h.step()
            try #require(h.stepsRun < 100_000, "the load did not drain")
        }
        return h
    }

    static func passesPerStep(_ h: Harness) -> Double {
        let passes = h.executor.passes.filter { $0 > 0 }
        return Double(passes.reduce(0, +)) / Double(max(passes.count, 1))
    }

    @Test("Four adapters at 16 streams: each group's step is about one pass, as the base model's is")
    func groupsStayConsecutive() throws {
        let base = try Self.closedLoop(adapters: 0)
        let lora = try Self.closedLoop(adapters: 4)
        #expect(base.violations == [] && lora.violations == [])
        #expect(lora.executorErrors.isEmpty, "a step mixed adapters")
        // Without regrouping this load takes 3.1 passes per step: nearly one per sequence.
        #expect(Self.passesPerStep(lora) < 1.4, "passes per step: \(Self.passesPerStep(lora))")
        #expect(Self.passesPerStep(lora) < Self.passesPerStep(base) + 0.2)
        // Copies are bounded: at most one a step, and far fewer than one per request.
        let copies = lora.core.counters.slotMoves
        #expect(copies < 200, "\(copies) partition copies for 200 requests")
    }

    @Test("Four adapters mixed in a step (the patched engine): as many passes and steps as the base model, no copies")
    func mixedStepsNeedNoGroups() throws {
        let base = try Self.closedLoop(adapters: 0)
        let lora = try Self.closedLoop(adapters: 4, mixes: true)
        #expect(lora.violations == [] && lora.executorErrors.isEmpty)
        #expect(Self.passesPerStep(lora) < Self.passesPerStep(base) + 0.05, "passes per step: \(Self.passesPerStep(lora))")
        // One-adapter steps would need about four times the steps for the same tokens.
        #expect(Double(lora.stepsRun) < Double(base.stepsRun) * 1.1, "\(lora.stepsRun) steps against \(base.stepsRun)")
        #expect(lora.core.counters.slotMoves <= base.core.counters.slotMoves)
    }
}
