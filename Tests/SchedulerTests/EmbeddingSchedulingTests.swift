import CorralCore
@testable import Scheduler
import Testing

@Suite("Embedding requests go through the scheduler (simulated engine)")
struct EmbeddingSchedulingTests {
    func embedding(_ tokens: [Token]) -> GenerationRequest {
        var r = GenerationRequest(prompt: tokens, maxTokens: 0)
        r.embedding = true
        return r
    }

    /// (prefix caching, partitioned KV): none, the slot cache, the block cache.
    @Test(arguments: [(false, true), (true, true), (true, false)])
    func embeddingsBesideGenerationFinishWithTheirVectorAndFreeTheirKV(prefixCaching: Bool, partitioned: Bool) async throws {
        let executor = SimulatedExecutor(kvCapacity: 1024, slotCount: 8, maxBatchTokens: 64)
        executor.partitioned = partitioned
        let core = SchedulerCore(executor: executor, config: SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 8,
                                                                             prefixCaching: prefixCaching),
                                 clock: { executor.now })
        let shared = prompt(40)
        let generation = try core.enqueueChoices([GenerationRequest(prompt: shared, maxTokens: 20)])[0]
        // The last input shares the running generation's prompt: a prefix a cache could
        // copy, which an embedding must compute afresh in a slot of its own.
        let inputs = [prompt(30, seed: 2), prompt(50, seed: 3), prompt(30, seed: 2), Array(shared.prefix(36))]
        let streams = try inputs.map { try core.enqueueChoices([embedding($0)])[0] }
        #expect(drive(core, executor).isEmpty)
        var vectors: [[Float]] = []
        for stream in streams {
            let out = await collect(stream)
            #expect(out.tokens.isEmpty, "an embedding generates nothing")
            let vector = try #require(out.summary?.embedding)
            vectors.append(vector)
        }
        #expect(vectors[0] == vectors[2], "the same input gives the same vector")
        #expect(vectors[0] != vectors[1])
        #expect(await collect(generation).tokens.count == 20, "generation beside embeddings is unchanged")
        // Embedding inputs leave nothing cached: only the generation's prefix may stay.
        #expect(core.counters.succeeded == 5)
        #expect(executor.usedCells <= 60)
    }

    @Test func anInputLongerThanOnePassIsRefusedAtOnce() {
        let executor = SimulatedExecutor(kvCapacity: 1024, slotCount: 4, maxBatchTokens: 64)
        let core = SchedulerCore(executor: executor, config: SchedulerConfig(maxBatchTokens: 32), clock: { executor.now })
        #expect(core.maxEmbeddingTokens == 32)
        #expect(throws: SchedulerError.contextLengthExceeded(requested: 33, limit: 32)) {
            _ = try core.enqueueChoices([embedding(prompt(33))])
        }
        #expect(core.waiting.isEmpty)
    }

    @Test func embeddingsCountAgainstTheQueueBound() throws {
        let executor = SimulatedExecutor(kvCapacity: 1024, slotCount: 4, maxBatchTokens: 64)
        let core = SchedulerCore(executor: executor, config: SchedulerConfig(maxBatchTokens: 64, maxWaitingRequests: 2),
                                 clock: { executor.now })
        _ = try core.enqueueChoices([embedding(prompt(8))])
        _ = try core.enqueueChoices([embedding(prompt(8, seed: 2))])
        #expect(throws: SchedulerError.self) { _ = try core.enqueueChoices([embedding(prompt(8, seed: 3))]) }
        #expect(core.counters.rejected == 1)
    }

    @Test func aWholeInputWaitsForAStepWithRoomForIt() async throws {
        // 40 + 40 tokens do not fit one 64-token step: the second input runs next step, whole.
        let executor = SimulatedExecutor(kvCapacity: 1024, slotCount: 4, maxBatchTokens: 64)
        let core = SchedulerCore(executor: executor, config: SchedulerConfig(maxBatchTokens: 64), clock: { executor.now })
        let streams = try [prompt(40), prompt(40, seed: 5)].map { try core.enqueueChoices([embedding($0)])[0] }
        let first = core.step(recording: 0.01).plan
        #expect(first.work.map(\.tokens.count) == [40])
        let second = core.step(recording: 0.01).plan
        #expect(second.work.map(\.tokens.count) == [40])
        for stream in streams { #expect(await collect(stream).summary?.embedding?.count == SimulatedExecutor.embeddingWidth) }
        #expect(executor.usedCells == 0)
    }
}
