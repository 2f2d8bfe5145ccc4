import CorralCore
@testable import Scheduler
import Testing

/// A step must cost as few passes over the weights as the engine allows: with one KV
/// stream per sequence, llama.cpp splits a batch wherever slot ids stop being consecutive
/// and ascending, so the scheduler orders work by slot and keeps running sequences packed.
@Suite("Batch shape")
struct BatchShapeTests {
    static func work(_ items: [(slot: Int, tokens: Int)]) -> [SequenceWork] {
        items.map { SequenceWork(slot: $0.slot, startPosition: 0, tokens: ArraySlice(prompt($0.tokens)), sample: true) }
    }

    @Test("The ubatch model follows llama.cpp's split_equal and split_simple")
    func ubatchModelMatchesTheEnginesSplitRules() {
        let passes = { (items: [(slot: Int, tokens: Int)], partitioned: Bool) in
            UbatchModel.passes(Self.work(items), ubatch: 512, partitioned: partitioned)
        }
        #expect(passes([(0, 1), (1, 1), (2, 1), (3, 1)], true) == 1)
        #expect(passes([(0, 1), (1, 1), (3, 1), (4, 1)], true) == 2, "a hole in the slot ids splits the batch")
        #expect(passes([(2, 1), (0, 1), (1, 1)], true) == 2, "ids out of order split the batch")
        #expect(passes([(3, 1), (2, 1), (1, 1), (0, 1)], true) == 4)
        #expect(passes([(0, 1), (1, 1), (2, 100)], true) == 2, "a prefill's tokens past the first run alone")
        #expect(passes([(0, 1), (1, 600)], true) == 3, "and in ubatch-sized pieces")
        #expect(passes([(2, 1), (0, 1), (1, 100)], false) == 1, "a unified cache takes any order")
        #expect(passes([(0, 300), (5, 300)], false) == 2)
    }

    @Test("Under continuous arrivals, every decode step is one pass over the weights",
          arguments: [11, 12, 13] as [UInt64])
    func decodeStepsStayOnePassUnderContinuousArrivals(seed: UInt64) async throws {
        let config = SchedulerConfig(maxBatchTokens: 256, maxRunningSequences: 12, maxWaitingRequests: 1000,
                                     maxWaitingTokens: 1_000_000, policy: .fcfs)
        let h = Harness(kvCapacity: 4096, slots: 12, config: config)
        h.executor.partitioned = true
        var rng = SplitMix64(seed: seed)
        var submitted = 0, decodeSteps = 0, step = 0
        while submitted < 300 || h.core.hasWork {
            // Arrivals at random steps, with random lengths, so sequences finish out of order.
            if submitted < 300, Int.random(in: 0..<3, using: &rng) == 0 {
                let request = GenerationRequest(prompt: prompt(Int.random(in: 4...40, using: &rng), seed: submitted),
                                                maxTokens: Int.random(in: 1...60, using: &rng))
                try h.submit(request)
                submitted += 1
            }
            let plan = h.step()
            step += 1
            try #require(step < 100_000)
            guard !plan.isEmpty else { continue }
            let slots = plan.work.map(\.slot)
            #expect(slots == slots.sorted(), "step \(step): work out of slot order \(slots)")
            let onlyDecodes = plan.work.allSatisfy { $0.tokens.count == 1 && $0.startPosition > 0 }
            let passes = h.executor.passes.last!
            if onlyDecodes {
                decodeSteps += 1
                #expect(passes == 1, "step \(step): a decode-only step over slots \(slots) took \(passes) passes")
            } else {
                let prefills = plan.work.filter { !($0.tokens.count == 1 && $0.startPosition > 0) }.count
                #expect(passes <= 1 + prefills, "step \(step): \(passes) passes for \(prefills) prefills")
            }
        }
        #expect(decodeSteps > 100)
        #expect(h.core.counters.slotMoves > 0, "sequences finished out of order, so some had to move down")
        #expect(h.violations == [])
        #expect(h.executorErrors.isEmpty)
    }
}
