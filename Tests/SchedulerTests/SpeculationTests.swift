import CorralCore
@testable import Scheduler
import Testing

/// Speculative decoding on the simulated engine: drafts change how many steps a request
/// takes, never its tokens, and the KV accounting stays exact through every rejection.
@Suite("Speculative decoding")
struct SpeculationTests {
    /// Guesses the simulated model's continuation: the first `right(history)` tokens are
    /// what the model will sample, the rest are wrong, so every acceptance length occurs.
    final class Oracle: DraftProposer {
        let executor: SimulatedExecutor
        /// Sequences told to forget.
        var forgotten: Set<UInt64> = []

        init(executor: SimulatedExecutor) { self.executor = executor }

        func forget(sequence: UInt64) { forgotten.insert(sequence) }

        func propose(_ history: [Token], sequence: UInt64, limit: Int) -> ArraySlice<Token> {
            let right = (history.count * 7) % (limit + 2)  // sometimes all right, sometimes none
            var out = executor.chain(after: history, count: min(right, limit))
            while out.count < limit { out.append(Token(1 + (out.count * 13 + history.count) % 998)) }
            // A wrong guess must differ from the model's token at its place.
            let truth = executor.chain(after: history, count: limit)
            for i in min(right, limit)..<limit where out[i] == truth[i] { out[i] = truth[i] % 998 + 1 }
            return out[...]
        }
    }

    static func config(speculation: SpeculationConfig) -> SchedulerConfig {
        var config = SchedulerConfig(maxBatchTokens: 48, maxRunningSequences: 6, maxWaitingRequests: 1000,
                                     maxWaitingTokens: 1_000_000, policy: .fcfs)
        config.speculation = speculation
        return config
    }

    @Test("Prompt lookup copies what followed the latest, longest earlier match")
    func ngramProposerFindsTheLatestLongestMatch() {
        let lookup = NgramProposer(minMatch: 2, maxMatch: 3)
        // "1 2 3 4 5 … 1 2 3" → the tokens after the earlier "1 2 3".
        #expect(lookup.propose([1, 2, 3, 4, 5, 6, 9, 1, 2, 3], limit: 3) == [4, 5, 6])
        // The latest occurrence wins: "7 8" was followed by 1 first, by 2 later.
        #expect(lookup.propose([7, 8, 1, 7, 8, 2, 7, 8], limit: 1) == [2])
        // A 3-token match beats a later 2-token one.
        #expect(lookup.propose([5, 7, 8, 4, 9, 7, 8, 6, 5, 7, 8], limit: 1) == [4])
        // Shorter than minMatch, or nothing recurs: no draft.
        #expect(lookup.propose([1, 2, 3, 4, 5, 1], limit: 4).isEmpty)
        #expect(lookup.propose([1, 2], limit: 4).isEmpty)
        #expect(lookup.propose([1, 2, 1, 2], limit: 0).isEmpty)
        // The draft stops at the history's end, and may run into the suffix itself.
        #expect(lookup.propose([4, 4, 4, 4], limit: 5) == [4])
    }

    @Test("Random workloads with drafts: exact tokens, exact KV, every request ends once",
          arguments: [1, 2, 3, 4] as [UInt64])
    func draftsNeverChangeTheOutput(seed: UInt64) async throws {
        let config = Self.config(speculation: SpeculationConfig(method: .ngram, maxDraftTokens: 5, disableByBatchSize: 6))
        let h = Harness(kvCapacity: 256, slots: 6, config: config)
        let oracle = Oracle(executor: h.executor)
        h.core.proposer = oracle
        if seed % 2 == 0 { h.executor.eogEvery = 23 }  // some requests end on an EOG inside a draft
        h.executor.partitioned = seed % 2 == 1
        let plan = SchedulerInvariantTests.workload(seed: seed, count: 120)
        var ids: [UInt64] = []
        var step = 0
        while ids.count < plan.count || h.core.hasWork {
            while ids.count < plan.count, plan[ids.count].arrivalStep <= step {
                ids.append(try h.submit(plan[ids.count].request))
            }
            h.step()
            step += 1
            try #require(step < 100_000, "the workload did not drain")
        }
        #expect(h.executorErrors.isEmpty)
        #expect(h.violations == [], "the scheduler's KV count left the executor's")
        #expect(h.executor.used.allSatisfy { $0 == 0 })
        #expect(oracle.forgotten == Set(ids), "every ended sequence is forgotten by the proposer")
        let c = h.core.counters
        #expect(c.specDrafts > 0 && c.specAcceptedTokens > 0 && c.specAcceptedTokens < c.specDraftTokens)
        #expect(c.specAcceptedPerPosition.first == c.specAcceptedPerPosition.max(), "position 0 is accepted most")
        #expect(c.specAcceptedPerPosition.reduce(0, +) == c.specAcceptedTokens)
        for (id, p) in zip(ids, plan) {
            let outcome = try #require(await h.outcome(id))
            #expect(outcome.ends == 1)
            #expect(outcome.tokens == h.executor.chain(after: p.request.prompt, count: outcome.tokens.count))
            if let summary = outcome.summary {
                #expect(summary.completionTokens == outcome.tokens.count)
                #expect(outcome.text == h.executor.text(of: outcome.tokens))
                if summary.reason == .length { #expect(outcome.tokens.count == p.request.maxTokens) }
            } else if case .queueTimeout? = outcome.error {
                #expect(p.request.queueTimeout != nil)
            } else {
                Issue.record("request \(id) failed: \(String(describing: outcome.error))")
            }
        }
    }

    @Test("A request verified with drafts takes fewer steps, with at most maxDraftTokens drafts a step")
    func draftsSaveSteps() async throws {
        func run(_ method: SpeculationConfig.Method) async throws -> (steps: Int, tokens: [Token], fed: [Int]) {
            let h = Harness(kvCapacity: 512, slots: 2, config: Self.config(speculation: .init(method: method, maxDraftTokens: 4)))
            if method != .off { h.core.proposer = Oracle(executor: h.executor) }
            let id = try h.submit(GenerationRequest(prompt: prompt(20), maxTokens: 50))
            var fed: [Int] = []
            while h.core.hasWork { fed.append(h.step().work.reduce(0) { $0 + $1.tokens.count }) }
            #expect(h.violations == [])
            return (h.stepsRun, try #require(await h.outcome(id)).tokens, fed)
        }
        let plain = try await run(.off), drafted = try await run(.ngram)
        #expect(drafted.tokens == plain.tokens && plain.tokens.count == 50)
        #expect(drafted.steps < plain.steps * 3 / 4)
        #expect(drafted.fed.dropFirst().allSatisfy { $0 <= 5 })
    }

    @Test("With a KV stream per sequence, drafts in one step have one length: a step stays at most two passes")
    func partitionedDraftsShareOneLength() throws {
        let h = Harness(kvCapacity: 512, slots: 4, config: Self.config(speculation: .init(method: .ngram, maxDraftTokens: 6, disableByBatchSize: 4)))
        h.executor.partitioned = true
        h.core.proposer = Oracle(executor: h.executor)
        for seed in 1...3 { try h.submit(GenerationRequest(prompt: prompt(8, seed: seed), maxTokens: 40)) }
        while h.core.hasWork {
            let plan = h.step()
            let lengths = Set(plan.work.filter { $0.draft > 0 }.map(\.draft))
            #expect(lengths.count <= 1)
            if plan.work.allSatisfy({ $0.committedCount == 1 }) { #expect(h.executor.passes.last! <= 2) }
        }
        #expect(h.violations == [] && h.core.counters.specDrafts > 0)
    }

    @Test("More decoding sequences than disableByBatchSize: no drafts at all")
    func largeBatchesCarryNoDrafts() throws {
        let h = Harness(kvCapacity: 512, slots: 4, config: Self.config(speculation: .init(method: .ngram, disableByBatchSize: 2)))
        h.core.proposer = Oracle(executor: h.executor)
        for seed in 1...3 { try h.submit(GenerationRequest(prompt: prompt(8, seed: seed), maxTokens: 30)) }
        h.runUntilIdle()
        #expect(h.violations == [])
        // All three decode together from the second step on, so nothing was ever drafted.
        #expect(h.core.counters.specDrafts == 0)
    }

    @Test("A draft rejected at once halves the next; one accepted whole doubles it back")
    func draftLengthAdapts() throws {
        let h = Harness(kvCapacity: 512, slots: 2, config: Self.config(speculation: .init(method: .ngram, maxDraftTokens: 8)))
        try h.submit(GenerationRequest(prompt: prompt(8), maxTokens: 40))
        h.step()  // the prompt
        let seq = try #require(h.core.running.first)
        h.core.noteDraft(seq, drafted: 8, accepted: 0)
        #expect(seq.speculation.limit == 4)
        h.core.noteDraft(seq, drafted: 4, accepted: 0)
        h.core.noteDraft(seq, drafted: 2, accepted: 0)
        h.core.noteDraft(seq, drafted: 1, accepted: 0)
        // One-token drafts that keep failing pause drafting for 2, 4, … at most 32 steps.
        #expect(seq.speculation.limit == 1 && seq.speculation.pause == 2)
        h.core.noteDraft(seq, drafted: 1, accepted: 0)
        #expect(seq.speculation.pause == 4)
        for _ in 0..<6 { h.core.noteDraft(seq, drafted: 1, accepted: 0) }
        #expect(seq.speculation.pause == 32)
        seq.speculation.pause = 0
        h.core.noteDraft(seq, drafted: 1, accepted: 1)
        #expect(seq.speculation.limit == 2)
        h.core.noteDraft(seq, drafted: 2, accepted: 1)
        #expect(seq.speculation.limit == 2)
        #expect(seq.speculation.misses == 0)
        #expect(seq.speculation.drafted == 25 && seq.speculation.accepted == 2)
    }
}
