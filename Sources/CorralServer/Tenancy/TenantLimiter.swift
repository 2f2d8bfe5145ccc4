import Foundation
import Synchronization

/// The per-tenant quotas: `max_concurrency` (requests running plus waiting) and
/// `tokens_per_minute` (a token bucket). A request reserves its prompt plus `max_tokens`
/// for each choice; when it ends, what it did not use goes back. State is kept only for
/// tenants that have a limit, so it is bounded by the keys file.
public final class TenantLimiter: Sendable {
    private let state = Mutex<[String: Usage]>([:])
    private let clock: @Sendable () -> Double

    /// Why a request was refused.
    public enum Refusal: Error, Sendable, Equatable {
        /// It could never fit the tenant's limits (a 400).
        case neverFits(String)
        /// Over a limit now; try again after `retryAfter` seconds (a 429). `limit` names it.
        case overLimit(limit: String, message: String, retryAfter: Int)
    }

    private struct Usage {
        var inFlight = 0
        /// Tokens in the bucket, and when it was last refilled.
        var level: Double
        var refilled: Double
    }

    /// A limiter on `clock` (seconds; monotonic by default).
    public init(clock: (@Sendable () -> Double)? = nil) {
        let start = ContinuousClock.now
        self.clock = clock ?? { (ContinuousClock.now - start).seconds }
    }

    /// Takes room for `choices` sequences that may use `tokens` in all (each one's prompt
    /// plus `max_tokens`).
    /// - Returns: the lease to settle when the request ends; nil when the tenant has no limit.
    /// - Throws: `Refusal`.
    public func acquire(_ tenant: Tenant, choices: Int, tokens: Int) throws(Refusal) -> Lease? {
        guard tenant.maxConcurrency != nil || tenant.tokensPerMinute != nil else { return nil }
        let cost = Double(tokens)
        if let limit = tenant.maxConcurrency, choices > limit {
            throw .neverFits("n=\(choices) is more than tenant \(tenant.name)'s max_concurrency of \(limit)")
        }
        if let perMinute = tenant.tokensPerMinute, cost > Double(perMinute) {
            throw .neverFits("\(Int(cost)) tokens (prompt plus max_tokens, every choice) is more than tenant "
                             + "\(tenant.name)'s tokens_per_minute of \(perMinute)")
        }
        let now = clock()
        try state.withLock { (all: inout [String: Usage]) throws(Refusal) in
            var usage = all[tenant.name] ?? Usage(level: Double(tenant.tokensPerMinute ?? 0), refilled: now)
            if let perMinute = tenant.tokensPerMinute.map(Double.init) {
                usage.level = min(perMinute, usage.level + (now - usage.refilled) * perMinute / 60)
                usage.refilled = now
            }
            if let limit = tenant.maxConcurrency, usage.inFlight + choices > limit {
                all[tenant.name] = usage
                throw .overLimit(limit: "max_concurrency", message: "tenant \(tenant.name) has \(usage.inFlight) "
                                 + "requests in flight; its max_concurrency is \(limit)", retryAfter: 1)
            }
            if let perMinute = tenant.tokensPerMinute.map(Double.init), usage.level < cost {
                all[tenant.name] = usage
                let wait = Int(((cost - usage.level) * 60 / perMinute).rounded(.up))
                throw .overLimit(limit: "tokens_per_minute", message: "tenant \(tenant.name) is over its "
                                 + "tokens_per_minute of \(Int(perMinute))", retryAfter: max(wait, 1))
            }
            usage.inFlight += choices
            if tenant.tokensPerMinute != nil { usage.level -= cost }
            all[tenant.name] = usage
        }
        return Lease(limiter: self, tenant: tenant, choices: choices, reserved: cost)
    }

    /// Gives back a finished request's room and the tokens it reserved but did not use.
    fileprivate func release(_ tenant: Tenant, choices: Int, unused: Double) {
        state.withLock { all in
            guard var usage = all[tenant.name] else { return }
            usage.inFlight = max(usage.inFlight - choices, 0)
            if let perMinute = tenant.tokensPerMinute { usage.level = min(Double(perMinute), usage.level + unused) }
            all[tenant.name] = usage
        }
    }

    /// A request's hold on its tenant's limits. It is given back exactly once: when the
    /// request settles, or when the lease is dropped (a client that went away).
    public final class Lease: Sendable {
        private let limiter: TenantLimiter
        private let tenant: Tenant
        private let choices: Int
        private let reserved: Double
        private let settled = Atomic<Bool>(false)

        fileprivate init(limiter: TenantLimiter, tenant: Tenant, choices: Int, reserved: Double) {
            self.limiter = limiter
            self.tenant = tenant
            self.choices = choices
            self.reserved = reserved
        }

        /// Ends the hold: `used` tokens (prompt plus output, every choice) are spent.
        public func settle(used: Int) {
            guard !settled.exchange(true, ordering: .acquiringAndReleasing) else { return }
            limiter.release(tenant, choices: choices, unused: max(reserved - Double(used), 0))
        }

        deinit { settle(used: Int(reserved)) }
    }
}
