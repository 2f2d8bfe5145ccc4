import CorralCore
@testable import Scheduler
import Testing

/// Prefix caching in the partitioned layout (slot residents and the host tier), on the
/// simulated engine with history-sensitive sampling: a token depends on everything in the
/// slot's KV, so a slot holding another conversation's state, or a stale tail, shows up as
/// wrong output, and the step checks keep the KV accounting exact.
@Suite("Slot prefix cache (simulated engine)")
struct SlotCacheTests {
    static func harness(slots: Int = 4, kvPerSlot: Int = 256, caching: Bool = true, hostBytes: Int = 1 << 20,
                        policy: SchedulerConfig.Policy = .fcfs) -> Harness {
        let config = SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: slots, maxWaitingRequests: 1000,
                                     maxWaitingTokens: 1_000_000, policy: policy, prefixCaching: caching,
                                     prefixBlockSize: 8, hostCacheBytes: hostBytes)
        let h = Harness(kvCapacity: slots * kvPerSlot, slots: slots, config: config)
        h.executor.partitioned = true
        h.executor.historySensitive = true
        return h
    }

    /// What the fake model generates after `prompt` when it reads its whole history.
    static func expected(_ executor: SimulatedExecutor, after prompt: [Token], count: Int) -> [Token] {
        var history = prompt
        var out: [Token] = []
        for _ in 0..<count {
            let t = executor.next(history: history)
            out.append(t)
            history.append(t)
        }
        return out
    }

    /// Plays `conversations` multi-turn chats, `inFlight` at a time, every one starting with
    /// the same system prompt; each turn resends the history plus a new user message.
    /// Returns each turn's outcome, by conversation, and checks it against the model.
    @discardableResult
    static func play(_ h: Harness, conversations: Int, turns: Int, inFlight: Int, reply: Int = 6,
                     tenant: (Int) -> String = { _ in "default" }) async throws -> [[Outcome]] {
        let system = prompt(40, seed: 99)
        var history = (0..<conversations).map { _ in system }
        var outcomes = Array(repeating: [Outcome](), count: conversations)
        var pending: [Int: (id: UInt64, prompt: [Token])] = [:]
        // Conversations with a turn to send, first come first served: a conversation's next
        // turn queues behind the others' (users think between turns), so with more
        // conversations than slots a slot is reused before its conversation comes back.
        var ready = Array(0..<conversations)
        var done = 0
        while done < conversations * turns {
            while pending.count < inFlight, !ready.isEmpty {
                let c = ready.removeFirst()
                history[c] += prompt(7, seed: c * 31 + outcomes[c].count)
                var r = GenerationRequest(prompt: history[c], maxTokens: reply)
                r.tenant = tenant(c)
                pending[c] = (try h.submit(r), history[c])
            }
            h.step()
            for (c, p) in pending where !h.isLive(p.id) {
                let out = try #require(await h.outcome(p.id))
                #expect(out.tokens == expected(h.executor, after: p.prompt, count: reply), "conversation \(c) turn \(outcomes[c].count)")
                outcomes[c].append(out)
                done += 1
                history[c] += out.tokens
                pending[c] = nil
                if outcomes[c].count < turns { ready.append(c) }
            }
            try #require(h.stepsRun < 100_000)
        }
        #expect(h.executorErrors.isEmpty)
        #expect(h.violations == [], "\(h.violations)")
        return outcomes
    }

    @Test func laterTurnsReuseTheirOwnHistoryWithExactOutput() async throws {
        let h = Self.harness()
        let outcomes = try await Self.play(h, conversations: 4, turns: 3, inFlight: 4)
        let counters = h.core.counters
        #expect(counters.prefixHitTokens > 0)
        for turns in outcomes {
            #expect(turns[0].summary?.cachedTokens ?? -1 < 48, "a first turn can reuse at most the system prompt")
            for later in turns.dropFirst() {
                let cached = try #require(later.summary?.cachedTokens)
                let prompt = try #require(later.summary?.promptTokens)
                #expect(cached >= prompt - 8 - 7, "a later turn computes only its new message (and the last reply token)")
            }
        }
    }

    @Test func moreConversationsThanSlotsGoThroughTheHostTierWithoutMixingState() async throws {
        let h = Self.harness(slots: 3)
        try await Self.play(h, conversations: 12, turns: 3, inFlight: 3)
        let counters = h.core.counters
        #expect(counters.prefixHostHitTokens > 0, "residents pushed out of their slots come back from the host tier")
        #expect(counters.prefixHitTokens > counters.prefixHostHitTokens)
        #expect(h.core.snapshot.hostCachedBytes <= 1 << 20)
    }

    @Test func theSameWorkloadWithoutCachingGivesTheSameOutput() async throws {
        let cached = try await Self.play(Self.harness(slots: 3), conversations: 6, turns: 3, inFlight: 3)
        let cold = Self.harness(slots: 3, caching: false)
        let plain = try await Self.play(cold, conversations: 6, turns: 3, inFlight: 3)
        #expect(cached.map { $0.map(\.tokens) } == plain.map { $0.map(\.tokens) })
        #expect(cold.core.counters.prefixHitTokens == 0)
    }

    @Test func aTinyHostTierStaysWithinItsBudget() async throws {
        let h = Self.harness(slots: 2, hostBytes: 600)  // about two saved conversations
        try await Self.play(h, conversations: 8, turns: 2, inFlight: 2)
        #expect(h.core.snapshot.hostCachedBytes <= 600)
    }

    @Test func noTenantGetsAHitOnAnotherTenantsPrompt() async throws {
        let h = Self.harness(slots: 2)
        let system = prompt(48, seed: 7)
        func run(_ tenant: String, salt: String = "") throws -> UInt64 {
            var r = GenerationRequest(prompt: system + prompt(5, seed: tenant.count + salt.count), maxTokens: 3)
            r.tenant = tenant
            r.cacheSalt = salt
            let id = try h.submit(r)
            #expect(h.runUntilIdle())
            return id
        }
        let first = try run("alice")
        let other = try run("bob")
        let salted = try run("alice", salt: "s1")
        let same = try run("alice")
        #expect(await h.outcome(first)?.summary?.cachedTokens == 0)
        #expect(await h.outcome(other)?.summary?.cachedTokens == 0, "bob must not reuse alice's prompt")
        #expect(await h.outcome(salted)?.summary?.cachedTokens == 0, "another cache_salt is another scope")
        #expect(await h.outcome(same)?.summary?.cachedTokens ?? 0 >= 48, "alice reuses her own")
        #expect(h.violations == [])
    }

    @Test func preemptionUnderAKVSqueezeKeepsOutputExact() async throws {
        // Little KV for the sequences: later turns preempt earlier ones, whose KV stays
        // behind as a resident that the recompute then reuses.
        let config = SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 4, maxWaitingRequests: 1000,
                                     maxWaitingTokens: 1_000_000, policy: .fcfs, prefixCaching: true,
                                     prefixBlockSize: 8, hostCacheBytes: 1 << 20)
        let h = Harness(kvCapacity: 200, slots: 4, config: config)
        h.executor.partitioned = true
        h.executor.historySensitive = true
        try await Self.play(h, conversations: 8, turns: 3, inFlight: 4, reply: 12)
        #expect(h.core.counters.preemptions > 0, "the workload should squeeze KV hard enough to preempt")
    }

    @Test func aCachedRequestMayGoFirstButNoRequestIsPassedOverMoreThanFourTimes() async throws {
        let h = Self.harness(slots: 1)
        let p = prompt(64, seed: 5)
        try h.submit(GenerationRequest(prompt: p + prompt(3, seed: 6), maxTokens: 2))
        #expect(h.runUntilIdle())
        let cold = try h.submit(GenerationRequest(prompt: prompt(30, seed: 8), maxTokens: 2))
        let warm = try (0..<6).map { i in try h.submit(GenerationRequest(prompt: p + prompt(3, seed: 10 + i), maxTokens: 2)) }
        #expect(h.runUntilIdle())
        let order = h.admitted.filter { $0 == cold || warm.contains($0) }
        #expect(order == Array(warm.prefix(4)) + [cold] + Array(warm.suffix(2)),
                "four cached requests go first, then the one passed over, then the rest")
        #expect(h.violations == [])
    }

    @Test func aBurstSharingOnePromptComputesItOnceAndCopiesIt() async throws {
        let h = Self.harness(slots: 4)
        let system = prompt(120, seed: 4)
        let prompts = (0..<4).map { system + prompt(6, seed: 20 + $0) }
        let ids = try prompts.map { try h.submit(GenerationRequest(prompt: $0, maxTokens: 5)) }
        #expect(h.runUntilIdle())
        for (id, p) in zip(ids, prompts) {
            #expect(await h.outcome(id)?.tokens == Self.expected(h.executor, after: p, count: 5))
        }
        let computed = h.core.counters.promptTokens
        #expect(computed < 120 + 4 * 8 + 16, "the shared 120 tokens were computed once, not \(computed / 120) times")
        #expect(h.violations == [])
        #expect(h.executorErrors.isEmpty)
    }
}
