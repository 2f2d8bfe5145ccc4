import CorralServer
import Synchronization
import Testing

/// The keys file's tenants and the per-tenant quotas, with no model.
@Suite("Tenant keys and quotas")
struct TenantQuotaTests {
    @Test func keysFileLinesGiveTenantsAndOptions() throws {
        let file = try KeysFile(parsing: """
            # operators
            sk-admin ops admin=1
            sk-a1 team-a weight=2 priority=1 max_concurrency=4 tokens_per_minute=6000
            sk-a2 team-a

            sk-plain
            """)
        #expect(file.keys.count == 4)
        let a = try #require(file.tenant(forKey: Array("sk-a2".utf8)))
        #expect(a.name == "team-a" && a.weight == 2 && a.priority == 1 && a.maxConcurrency == 4 && a.tokensPerMinute == 6000)
        #expect(file.tenant(forKey: Array("sk-plain".utf8))?.name == Tenant.defaultName)
        #expect(file.tenant(forKey: Array("sk-admin".utf8))?.admin == true)
        #expect(file.tenant(forKey: Array("sk-nope".utf8)) == nil)
    }

    @Test(arguments: [
        ("sk-secret team-a weight=0", "line 1: weight"),
        ("sk-ok\nsk-secret team-a colour=blue", "line 2: unknown option 'colour'"),
        ("sk-secret team/a", "line 1: a tenant name"),
        ("sk-secret a max_concurrency=0", "line 1: max_concurrency"),
        ("sk-secret a weight", "line 1: an option is key=value"),
        ("sk-secret a weight=1\nsk-other a weight=2", "line 2: tenant a already has options"),
        ("sk-secret\nsk-secret", "line 2: this key is already"),
        ("# nothing", "holds no key"),
    ])
    func aMalformedLineIsNamedByNumberWithoutItsKey(text: String, reason: String) {
        #expect { _ = try KeysFile(parsing: text) } throws: { error in
            let message = "\(error)"
            return message.contains(reason) && !message.contains("sk-secret")
        }
    }

    /// A clock the test moves.
    final class Clock: Sendable {
        let now = Mutex(0.0)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    @Test func tokensPerMinuteRejectsAtTheLimitAndAdmitsAfterTheRefill() throws {
        let clock = Clock()
        let limiter = TenantLimiter(clock: { clock.now.withLock { $0 } })
        var tenant = Tenant(name: "t")
        tenant.tokensPerMinute = 600
        let first = try #require(try limiter.acquire(tenant, choices: 1, tokens: 300))
        first.settle(used: 300)
        _ = try limiter.acquire(tenant, choices: 1, tokens: 300)?.settle(used: 300)
        #expect { _ = try limiter.acquire(tenant, choices: 1, tokens: 300) } throws: { error in
            guard case .overLimit("tokens_per_minute", _, let retryAfter) = error as? TenantLimiter.Refusal else { return false }
            return retryAfter == 30  // 300 tokens at 10 a second
        }
        clock.advance(30)
        #expect(try limiter.acquire(tenant, choices: 1, tokens: 300) != nil)
    }

    @Test func unusedReservedTokensGoBack() throws {
        let clock = Clock()
        let limiter = TenantLimiter(clock: { clock.now.withLock { $0 } })
        var tenant = Tenant(name: "t")
        tenant.tokensPerMinute = 600
        try limiter.acquire(tenant, choices: 1, tokens: 500)?.settle(used: 50)
        #expect(try limiter.acquire(tenant, choices: 1, tokens: 500) != nil, "450 unused tokens were given back")
    }

    @Test func maxConcurrencyCountsRequestsInFlight() throws {
        let limiter = TenantLimiter()
        var tenant = Tenant(name: "t")
        tenant.maxConcurrency = 3
        let held = try #require(try limiter.acquire(tenant, choices: 2, tokens: 10))
        let other = try #require(try limiter.acquire(tenant, choices: 1, tokens: 10))
        #expect { _ = try limiter.acquire(tenant, choices: 1, tokens: 10) } throws: { error in
            if case .overLimit("max_concurrency", _, let retryAfter) = error as? TenantLimiter.Refusal { return retryAfter >= 1 }
            return false
        }
        held.settle(used: 10)
        #expect(try limiter.acquire(tenant, choices: 2, tokens: 10) != nil)
        other.settle(used: 10)
    }

    @Test func aRequestThatCouldNeverFitIsRefusedOutright() {
        let limiter = TenantLimiter()
        var tenant = Tenant(name: "t")
        tenant.maxConcurrency = 2
        tenant.tokensPerMinute = 100
        for (choices, tokens) in [(3, 10), (1, 101)] {
            #expect { _ = try limiter.acquire(tenant, choices: choices, tokens: tokens) } throws: { error in
                if case .neverFits = error as? TenantLimiter.Refusal { return true }
                return false
            }
        }
    }

    @Test func aTenantWithoutLimitsHoldsNothing() throws {
        #expect(try TenantLimiter().acquire(Tenant(name: "free"), choices: 16, tokens: 1 << 20) == nil)
    }
}
