import CorralCore
@testable import Scheduler
import Testing

/// Fair share between tenants, and priority that preempts, on the simulated executor.
@Suite("Tenants")
struct TenantTests {
    static func fair(_ slots: Int) -> SchedulerConfig {
        SchedulerConfig(maxBatchTokens: 512, maxRunningSequences: slots, maxWaitingRequests: 10_000,
                        maxWaitingTokens: .max, policy: .fair)
    }

    @Test("Backlogged tenants' shares of the output track their weights within 10%", arguments: [1, 2, 3] as [UInt64])
    func sharesTrackWeights(seed: UInt64) {
        let tenants = [TenantSimulation.Tenant(name: "a", weight: 1, streams: 24),
                       TenantSimulation.Tenant(name: "b", weight: 2, streams: 24),
                       TenantSimulation.Tenant(name: "c", weight: 3, streams: 24)]
        let r = TenantSimulation.run(tenants, config: Self.fair(12), kvCapacity: 16384, seconds: 60, seed: seed)
        for t in r.tenants {
            #expect(abs(t.share - t.fairShare) <= 0.1 * t.fairShare, "\(t.tenant.name): \(t.share) against \(t.fairShare)")
        }
        #expect(r.jainIndex > 0.99)
    }

    @Test("FCFS lets the flood take the machine, so the comparison shows something")
    func fcfsIsUnfair() {
        let tenants = [TenantSimulation.Tenant(name: "light", weight: 1, streams: 2),
                       TenantSimulation.Tenant(name: "flood", weight: 1, streams: 80)]
        var config = Self.fair(8)
        config.policy = .fcfs
        let r = TenantSimulation.run(tenants, config: config, kvCapacity: 16384, seconds: 60)
        #expect(r.tenants[0].share < 0.5 * r.tenants[0].fairShare)
    }

    @Test("A flooding tenant does not push another's TTFT p99 past twice what it is alone", arguments: [1, 2, 3] as [UInt64])
    func floodDoesNotHurtTheLightTenant(seed: UInt64) {
        let light = TenantSimulation.Tenant(name: "light", weight: 1, streams: 2)
        let flood = TenantSimulation.Tenant(name: "flood", weight: 1, streams: 40)  // 10x its share of 8 slots
        let alone = TenantSimulation.run([light], config: Self.fair(8), kvCapacity: 16384, seconds: 60, seed: seed)
        let shared = TenantSimulation.run([light, flood], config: Self.fair(8), kvCapacity: 16384, seconds: 60, seed: seed)
        let before = alone.tenants[0].ttftP99, after = shared.tenants[0].ttftP99
        #expect(after <= 2 * before, "TTFT p99 \(after) s with the flood, \(before) s alone")
        #expect(abs(shared.tenants[0].share - shared.tenants[0].fairShare) <= 0.1 * shared.tenants[0].fairShare)
    }

    @Test("Within a tenant, requests start in arrival order: no starvation")
    func noStarvationWithinATenant() async throws {
        let h = Harness(kvCapacity: 4096, slots: 4, config: Self.fair(4))
        var ids: [String: [UInt64]] = ["a": [], "b": []]
        for i in 0..<40 {
            for tenant in ["a", "b"] {
                var r = GenerationRequest(prompt: prompt(8, seed: i), maxTokens: 6)
                r.tenant = tenant
                ids[tenant]!.append(try h.submit(r))
            }
            h.step()
        }
        #expect(h.runUntilIdle())
        #expect(h.violations == [])
        for (_, mine) in ids {
            #expect(h.admitted.filter { mine.contains($0) } == mine)
            for id in mine { #expect(await h.outcome(id)?.summary?.reason == .length) }
        }
    }

    @Test("A tenant under its share takes a slot from one over it at once, and nothing is lost or thrashed")
    func fairSharePreemptionLosesNothing() async throws {
        let h = Harness(kvCapacity: 4096, slots: 4, config: Self.fair(4))
        var flood: [UInt64] = []
        for i in 0..<8 {
            var r = GenerationRequest(prompt: prompt(8, seed: i), maxTokens: 30)
            r.tenant = "flood"
            flood.append(try h.submit(r))
        }
        h.step()
        h.step()
        var r = GenerationRequest(prompt: prompt(8, seed: 99), maxTokens: 30)
        r.tenant = "light"
        let light = try h.submit(r)
        h.step()
        #expect(h.running(light) != nil, "the light tenant's request starts at the next step")
        #expect(h.runUntilIdle())
        #expect(h.violations == [])
        for id in flood + [light] {
            let outcome = try #require(await h.outcome(id))
            let request = try #require(h.requests[id])
            #expect(outcome.tokens == h.executor.chain(after: request.prompt, count: 30))
            #expect(outcome.summary?.preemptions ?? 0 <= 1, "preempted more than once: thrashing")
        }
        #expect(h.core.tenantSnapshots["flood"]?.counters.preemptions == 1)
        #expect(h.core.tenantSnapshots["light"]?.counters.generationTokens == 30)
    }

    @Test("A tenant alone gets the whole machine")
    func aloneGetsEverything() {
        let h = Harness(kvCapacity: 4096, slots: 4, config: Self.fair(4))
        for i in 0..<6 {
            var r = GenerationRequest(prompt: prompt(8, seed: i), maxTokens: 10)
            r.tenant = "only"
            r.tenantWeight = 0.1
            _ = try? h.submit(r)
        }
        h.step()
        #expect(h.core.running.count == 4)
    }

    @Test("Weighted max-min fair shares")
    func fairShares() {
        let shares = TenantSimulation.fairShares([.init(name: "a", weight: 1, streams: 2), .init(name: "b", weight: 1, streams: 100),
                                                  .init(name: "c", weight: 2, streams: 100)], slots: 14)
        #expect(shares.map { ($0 * 14).rounded() } == [2, 4, 8])
    }
}
