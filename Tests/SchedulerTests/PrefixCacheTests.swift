import CorralCore
@testable import Scheduler
import Testing

@Suite("Prefix reuse (simulated engine)")
struct PrefixCacheTests {
    func config(_ caching: Bool = true) -> SchedulerConfig {
        SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 4, prefixCaching: caching, prefixBlockSize: 8)
    }

    @Test func aRepeatedPromptHitsTheCacheAndGivesTheSameOutput() async throws {
        let h = Harness(kvCapacity: 512, slots: 8, config: config())
        let p = prompt(40)
        let first = try h.submit(GenerationRequest(prompt: p, maxTokens: 10))
        #expect(h.runUntilIdle())
        #expect(h.core.snapshot.counters.prefixHitTokens == 0)
        #expect(h.core.snapshot.kvCached > 0, "the finished prompt stays resident")
        let second = try h.submit(GenerationRequest(prompt: p, maxTokens: 10))
        #expect(h.runUntilIdle())
        let counters = h.core.snapshot.counters
        #expect(counters.prefixHitTokens == 32, "whole blocks of the prompt, leaving the last token to compute")
        #expect(counters.prefixQueryTokens == 80)
        let a = try #require(await h.outcome(first)), b = try #require(await h.outcome(second))
        #expect(a.tokens == b.tokens)
        #expect(b.tokens == h.executor.chain(after: p, count: 10))
        #expect(h.violations.isEmpty, "\(h.violations)")
    }

    @Test func aSharedPrefixIsReusedAndTheRestIsComputed() async throws {
        let h = Harness(kvCapacity: 512, slots: 8, config: config())
        let system = prompt(24, seed: 3)
        try h.submit(GenerationRequest(prompt: system + prompt(5, seed: 4), maxTokens: 4))
        #expect(h.runUntilIdle())
        let p = system + prompt(9, seed: 5)
        let id = try h.submit(GenerationRequest(prompt: p, maxTokens: 6))
        #expect(h.runUntilIdle())
        #expect(h.core.snapshot.counters.prefixHitTokens == 24)
        let out = try #require(await h.outcome(id))
        #expect(out.tokens == h.executor.chain(after: p, count: 6))
    }

    @Test func cachedPrefixesAreEvictedBeforeAnyRunningSequenceIsPreempted() async throws {
        // Each request fills most of the cache; cached prefixes must make way for new work.
        let h = Harness(kvCapacity: 160, slots: 8, config: config())
        var ids: [UInt64] = []
        for seed in 0..<12 { ids.append(try h.submit(GenerationRequest(prompt: prompt(60, seed: seed + 10), maxTokens: 20))) }
        #expect(h.runUntilIdle())
        for id in ids { #expect(await h.outcome(id)?.summary != nil) }
        #expect(h.executorErrors.isEmpty)
        #expect(h.violations.isEmpty, "\(h.violations)")
        #expect(h.executor.peakUsed <= 160)
    }

    @Test func randomWorkloadWithSharedPrefixesKeepsExactAccounting() async throws {
        var rng = SplitMix64(seed: 7)
        let h = Harness(kvCapacity: 300, slots: 8, config: config())
        let systems = (0..<3).map { prompt(16 + 8 * $0, seed: 100 + $0) }
        var ids: [(UInt64, [Token], Int)] = []
        for i in 0..<60 {
            let p = systems[Int(rng.next() % 3)] + prompt(1 + Int(rng.next() % 20), seed: 200 + i)
            let n = 1 + Int(rng.next() % 30)
            ids.append((try h.submit(GenerationRequest(prompt: p, maxTokens: n)), p, n))
            if i % 5 == 0 { for _ in 0..<Int(rng.next() % 8) { h.step() } }
        }
        #expect(h.runUntilIdle())
        #expect(h.violations.isEmpty, "\(h.violations.prefix(3))")
        #expect(h.executorErrors.isEmpty)
        #expect(h.core.snapshot.counters.prefixHitTokens > 0)
        for (id, p, n) in ids {
            let out = try #require(await h.outcome(id))
            #expect(out.tokens == h.executor.chain(after: p, count: n))
        }
    }

    @Test func withReuseOffNothingIsCached() {
        let h = Harness(kvCapacity: 256, slots: 8, config: config(false))
        _ = try? h.submit(GenerationRequest(prompt: prompt(40), maxTokens: 4))
        #expect(h.runUntilIdle())
        #expect(h.core.snapshot.kvCached == 0)
        #expect(h.executor.usedCells == 0)
    }

    @Test func blocksAreNeverSharedAcrossTenantsOrSalts() async throws {
        let h = Harness(kvCapacity: 512, slots: 8, config: config())
        let p = prompt(40)
        func send(_ tenant: String, salt: String = "") throws -> UInt64 {
            var r = GenerationRequest(prompt: p, maxTokens: 4)
            r.tenant = tenant
            r.cacheSalt = salt
            let id = try h.submit(r)
            #expect(h.runUntilIdle())
            return id
        }
        let ids = try [send("a"), send("b"), send("a", salt: "x"), send("a")]
        let cached = await ids.asyncMap { await h.outcome($0)?.summary?.cachedTokens }
        #expect(cached == [0, 0, 0, 32], "only tenant a without a salt reuses a's blocks")
        #expect(h.violations.isEmpty)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var out: [T] = []
        for e in self { out.append(await transform(e)) }
        return out
    }
}
