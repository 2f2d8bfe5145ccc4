import CorralCore
@testable import Scheduler
import Testing

/// Collects what the scheduler publishes, on the test's thread.
final class EventCollector: KVEventSink, @unchecked Sendable {
    var events: [KVCacheEvent] = []
    func publish(_ events: [KVCacheEvent]) {
        #expect(!events.isEmpty, "a published batch is never empty")
        self.events += events
    }
}

/// Replays events as a router's index does, and checks the order they come in: a parent is
/// stored before its children, a block is stored once while held, and only held blocks go.
struct EventIndex {
    var held: Set<String> = []
    var problems: [String] = []
    var stored = 0, removed = 0, cleared = 0

    mutating func apply(_ events: [KVCacheEvent]) {
        for event in events {
            switch event {
            case .cleared:
                held.removeAll()
                cleared += 1
            case .stored(let run):
                if let parent = run.parent, !held.contains("\(run.medium)/\(parent)") {
                    problems.append("parent \(parent) not held in \(run.medium)")
                }
                if run.tokens.count != run.hashes.count * run.blockSize { problems.append("a run's tokens do not fill its blocks") }
                for h in run.hashes where !held.insert("\(run.medium)/\(h)").inserted { problems.append("\(h) stored twice") }
                stored += run.hashes.count
            case .removed(let hashes, let medium):
                for h in hashes where held.remove("\(medium)/\(h)") == nil { problems.append("\(h) removed but not held") }
                removed += hashes.count
            }
        }
    }
}

@Suite("KV events (vLLM format, simulated engine)")
struct KVEventTests {
    @Test func sharedBlocksAreStoredOnceAndRemovedWithTheLastHolder() {
        let r = KVEventRecorder(blockSize: 4)
        #expect(r.take() == [.cleared], "a new recorder first clears what an earlier run published")
        let a = prompt(12, seed: 1)
        r.stored(a[...], scope: "default\u{1F}", medium: .device)
        guard case .stored(let run)? = r.take().first else { Issue.record("no run"); return }
        #expect(run.hashes.count == 3 && run.parent == nil && run.tokens == a && run.extraKeys == nil && run.adapter == nil)
        // A longer prompt sharing the three blocks adds only its fourth, whose parent is held.
        let b = a + prompt(6, seed: 2)
        r.stored(b[...], scope: "default\u{1F}", medium: .device)
        guard case .stored(let more)? = r.take().first else { Issue.record("no run"); return }
        #expect(more.hashes.count == 1 && more.parent == run.hashes[2] && more.tokens == Array(b[12..<16]))
        r.removed(a[...], scope: "default\u{1F}", medium: .device)
        #expect(r.take().isEmpty, "the longer prompt still holds the first three blocks")
        r.removed(b[...], scope: "default\u{1F}", medium: .device)
        #expect(r.take() == [.removed(hashes: more.hashes + run.hashes.reversed(), medium: .device)], "deepest first")
        #expect(r.blocks(in: .device) == 0)
    }

    @Test func tenantsSaltsAndAdaptersNeverShareAHash() {
        let tokens = prompt(16, seed: 3)[...]
        let scopes = ["default\u{1F}", "alice\u{1F}", "bob\u{1F}", "alice\u{1F}s1", "default\u{1F}\u{1F}2"]
        let chains = scopes.map { KVEventRecorder.blockHashes(tokens, blockSize: 8, scope: $0) }
        #expect(Set(chains.flatMap { $0 }).count == scopes.count * 2)
        #expect(KVEventRecorder.blockHashes(tokens, blockSize: 8, scope: "bob\u{1F}") == chains[2], "stable")
        #expect(KVEventRecorder.parse("alice\u{1F}s1").extraKeys == ["alice", "s1"])
        #expect(KVEventRecorder.parse("default\u{1F}\u{1F}2") == (adapter: 2, extraKeys: nil))
    }

    @Test func multiTurnChatsPublishEveryMoveThroughTheHostTierInOrder() async throws {
        let h = SlotCacheTests.harness(slots: 3)
        let sink = EventCollector()
        h.core.kvEvents = sink
        try await SlotCacheTests.play(h, conversations: 12, turns: 3, inFlight: 3, tenant: { $0 % 2 == 0 ? "default" : "t\($0 % 3)" })
        var index = EventIndex()
        index.apply(sink.events)
        #expect(index.problems == [], "\(index.problems.prefix(5))")
        #expect(sink.events.first == .cleared && index.cleared == 1)
        let media = Set(sink.events.compactMap { if case .stored(let run) = $0 { run.medium } else { nil } })
        #expect(media == [.device, .host], "residents saved to the host tier are published as CPU blocks")
        #expect(index.removed > 0)
        let tenants = sink.events.contains { if case .stored(let run) = $0 { run.extraKeys?.first == "t1" } else { false } }
        #expect(tenants, "a tenant's blocks carry its scope as extra keys")
        // What the index holds is what the caches hold, block for block.
        let recorder = try #require(h.core.kv.events)
        #expect(index.held.count == recorder.blocks(in: .device) + recorder.blocks(in: .host))
    }

    @Test func theBlockCacheOfAUnifiedLayoutPublishesToo() async throws {
        let config = SchedulerConfig(maxBatchTokens: 64, maxRunningSequences: 2, maxWaitingRequests: 100,
                                     maxWaitingTokens: 100_000, policy: .fcfs, prefixCaching: true, prefixBlockSize: 8)
        let h = Harness(kvCapacity: 1024, slots: 4, config: config)
        let sink = EventCollector()
        h.core.kvEvents = sink
        // Three prompts sharing a system prompt (the entry grows in place, its blocks stay),
        // then four unrelated ones: two spare slots, so older entries are evicted.
        let system = prompt(40, seed: 5)
        let prompts = (0..<3).map { system + prompt(9, seed: $0) } + (0..<4).map { prompt(49, seed: 100 + $0) }
        for p in prompts {
            try h.submit(GenerationRequest(prompt: p, maxTokens: 3))
            #expect(h.runUntilIdle())
        }
        var index = EventIndex()
        index.apply(sink.events)
        #expect(index.problems == [], "\(index.problems.prefix(5))")
        #expect(index.stored >= 5, "the shared system prompt's blocks at least")
        #expect(index.removed > 0, "two spare slots: entries are evicted")
    }
}
