import CorralCore
@testable import Scheduler
import Testing

@Suite("Parallel choices share their prompt (simulated engine)")
struct ParallelChoicesTests {
    @Test(arguments: [false, true])
    func siblingChoicesPrefillThePromptOnce(prefixCaching: Bool) async throws {
        let executor = SimulatedExecutor(kvCapacity: 512, slotCount: 8, maxBatchTokens: 64)
        let core = SchedulerCore(executor: executor, config: SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 4,
                                                                             prefixCaching: prefixCaching),
                                 clock: { executor.now })
        let p = prompt(100)
        let streams = try core.enqueueChoices(Array(repeating: GenerationRequest(prompt: p, maxTokens: 12), count: 3))
        #expect(drive(core, executor).isEmpty)
        // 100 prompt tokens once, then one last prompt token for each sibling.
        #expect(core.counters.promptTokens == 102)
        for stream in streams {
            let out = await collect(stream)
            #expect(out.summary?.reason == .length)
            #expect(out.tokens == executor.chain(after: p, count: 12))
        }
        #expect(executor.usedCells == (prefixCaching ? core.kv.prefixCache!.cells : 0), "only cached prefixes remain")
    }

    @Test func siblingsOfACancelledLeaderStillFinish() async throws {
        let executor = SimulatedExecutor(kvCapacity: 512, slotCount: 8, maxBatchTokens: 32)
        let core = SchedulerCore(executor: executor, config: SchedulerConfig(maxBatchTokens: 32, maxRunningSequences: 4),
                                 clock: { executor.now })
        let p = prompt(80)
        let streams = try core.enqueueChoices(Array(repeating: GenerationRequest(prompt: p, maxTokens: 5), count: 3))
        // Cancel the leader mid-prefill, before any fork exists.
        _ = core.plan()
        core.cancel(core.running[0].id)
        #expect(drive(core, executor).isEmpty)
        let outcomes = [await collect(streams[0]), await collect(streams[1]), await collect(streams[2])]
        #expect(outcomes[0].error == .cancelled)
        #expect(outcomes[1].tokens == executor.chain(after: p, count: 5))
        #expect(outcomes[2].tokens == executor.chain(after: p, count: 5))
        #expect(executor.usedCells == 0)
    }
}
