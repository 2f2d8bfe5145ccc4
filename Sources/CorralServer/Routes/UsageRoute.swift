import Hummingbird
import Scheduler

/// `GET /v1/usage`: each tenant's usage, from the same totals as the `tenant_*` metrics.
/// An admin key (`admin=1` in the keys file) sees every tenant; any other key sees its own.
/// Without a keys file every caller is the operator and sees every tenant.
struct UsageRoute: Sendable {
    let state: ModelState
    let config: ServerConfig
    let metrics: ServingMetrics

    struct Usage: Encodable {
        struct Requests: Encodable { var succeeded: Int; var failed: Int; var rejected: Int }
        struct Limits: Encodable {
            var weight: Double
            var priority: Int
            var max_concurrency: Int?
            var tokens_per_minute: Int?
        }
        var tenant: String
        var prompt_tokens: Int
        var generation_tokens: Int
        var total_tokens: Int
        var requests: Requests
        var quota_rejections: [String: Int]
        var preemptions: Int
        var priority_preemptions: Int
        var running: Int
        var waiting: Int
        var limits: Limits
    }

    struct Listing: Encodable {
        var object = "list"
        var data: [Usage]
    }

    /// `GET /v1/usage`.
    func usage(_ request: Request, context: some RequestContext) throws -> Response {
        let engine = try state.readyEngine()
        let snapshot = engine.scheduler.snapshot.tenants
        let rejections = metrics.tenants.rejections
        let known = config.keys?.tenants ?? [:]
        let caller = config.keys?.tenant(for: request)
        let names: [String]
        if config.keys == nil || caller?.admin == true {
            names = Set(snapshot.keys).union(known.keys).union(rejections.keys).sorted()
        } else {
            names = caller.map { [$0.name] } ?? []
        }
        let data = names.map { name -> Usage in
            let now = snapshot[name] ?? TenantSnapshot()
            let tenant = known[name] ?? Tenant(name: name)
            let rejected = rejections[name] ?? [:]
            let c = now.counters
            return Usage(tenant: name, prompt_tokens: c.promptTokens, generation_tokens: c.generationTokens,
                         total_tokens: c.promptTokens + c.generationTokens,
                         requests: .init(succeeded: c.succeeded, failed: c.failed, rejected: rejected.values.reduce(0, +)),
                         quota_rejections: rejected, preemptions: c.preemptions, priority_preemptions: c.priorityPreemptions,
                         running: now.running, waiting: now.waiting,
                         limits: .init(weight: tenant.weight, priority: tenant.priority, max_concurrency: tenant.maxConcurrency,
                                       tokens_per_minute: tenant.tokensPerMinute))
        }
        return try CompletionHandler.json(Listing(data: data))
    }
}
