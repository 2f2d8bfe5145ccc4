import Foundation
import CorralCore

/// Tenants sharing one simulated engine: each keeps a number of requests in flight (a
/// closed loop: a finished request is replaced at once), so a tenant with more streams
/// than its share floods the queue. Measures each tenant's share of the output tokens and
/// its time to first token, on the simulated engine's virtual clock. Deterministic for a
/// given seed.
public struct TenantSimulation: Sendable {
    /// One tenant's load.
    public struct Tenant: Sendable {
        /// Its name.
        public var name: String
        /// Its fair-share weight.
        public var weight: Double
        /// Requests it keeps in flight.
        public var streams: Int

        /// Creates a tenant.
        public init(name: String, weight: Double, streams: Int) {
            self.name = name
            self.weight = weight
            self.streams = streams
        }
    }

    /// What one tenant got.
    public struct TenantResult: Sendable {
        /// The tenant.
        public var tenant: Tenant
        /// Its share of the output tokens generated in the measured window.
        public var share: Double
        /// Its weighted max-min fair share of the slots: its weight's part, or its demand if
        /// that is less (the rest goes to the others).
        public var fairShare: Double
        /// Time to first token percentiles, seconds.
        public var ttftP50: Double
        /// The same, p99.
        public var ttftP99: Double
        /// Requests that started in the window.
        public var started: Int
    }

    /// A run's figures.
    public struct Result: Sendable {
        /// Per tenant, in the order given.
        public var tenants: [TenantResult]
        /// Jain's fairness index over each tenant's share divided by its fair share: 1 when
        /// every tenant gets exactly its fair share.
        public var jainIndex: Double
        /// Preemptions in all.
        public var preemptions: Int
    }

    /// Runs `tenants` for `seconds` of virtual time (the first tenth is not measured).
    public static func run(_ tenants: [Tenant], config: SchedulerConfig, kvCapacity: Int, seconds: Double = 120,
                           promptTokens: ClosedRange<Int> = 32...256, outputTokens: ClosedRange<Int> = 32...128,
                           seed: UInt64 = 1) -> Result {
        let executor = SimulatedExecutor(kvCapacity: kvCapacity, slotCount: config.maxRunningSequences,
                                         maxBatchTokens: config.maxBatchTokens)
        let core = SchedulerCore(executor: executor, config: config, clock: { executor.now })
        var rng = SplitMix64(seed: seed)
        let warmup = seconds / 10
        // Streams start at random moments in the first second, so no tenant is first by
        // construction; each then sends its next request when the last one ends.
        var starts: [(time: Double, tenant: Int)] = tenants.indices.flatMap { t in
            (0..<tenants[t].streams).map { _ in (rng.unit(), t) }
        }.sorted { $0.time > $1.time }
        var inFlight: [(seq: SequenceState, tenant: Int)] = []
        var generated = [Int](repeating: 0, count: tenants.count)
        var ttft = [[Double]](repeating: [], count: tenants.count)
        var seen: [UInt64: Int] = [:]

        func send(_ t: Int) {
            let prompt = (0..<rng.int(in: promptTokens)).map { _ in Token(1 + rng.int(in: 0...998)) }
            var request = GenerationRequest(prompt: prompt, maxTokens: rng.int(in: outputTokens), ignoreEOS: true)
            request.tenant = tenants[t].name
            request.tenantWeight = tenants[t].weight
            let (_, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
            guard let id = try? core.enqueue(request, continuation: continuation),
                  let seq = core.waiting.first(where: { $0.id == id }) else { return }
            inFlight.append((seq, t))
        }

        while executor.now < seconds {
            while let next = starts.last, next.time <= executor.now {
                starts.removeLast()
                send(next.tenant)
            }
            let (plan, _) = core.step(recording: 0)
            if plan.isEmpty {
                guard let next = starts.last else { break }
                executor.advance(to: next.time)
                continue
            }
            let measuring = executor.now >= warmup
            for (seq, _) in plan.items {
                let before = seen[seq.id] ?? 0
                guard seq.generatedCount > before else { continue }
                seen[seq.id] = seq.generatedCount
                guard let t = inFlight.first(where: { $0.seq === seq })?.tenant else { continue }
                if before == 0, seq.arrival >= warmup { ttft[t].append(executor.now - seq.arrival) }
                if measuring { generated[t] += seq.generatedCount - before }
            }
            for (i, entry) in inFlight.enumerated().reversed() where entry.seq.phase == .finished {
                inFlight.remove(at: i)
                seen[entry.seq.id] = nil
                send(entry.tenant)
            }
        }

        let total = max(generated.reduce(0, +), 1)
        let fair = fairShares(tenants, slots: config.maxRunningSequences)
        let results = tenants.indices.map { t -> TenantResult in
            let sorted = ttft[t].sorted()
            return TenantResult(tenant: tenants[t], share: Double(generated[t]) / Double(total), fairShare: fair[t],
                                ttftP50: Percentile.of(sorted, 50) ?? 0, ttftP99: Percentile.of(sorted, 99) ?? 0,
                                started: sorted.count)
        }
        let x = results.map { $0.share / max($0.fairShare, 1e-9) }
        let jain = x.reduce(0, +) * x.reduce(0, +) / (Double(x.count) * x.reduce(0) { $0 + $1 * $1 })
        return Result(tenants: results, jainIndex: jain, preemptions: core.counters.preemptions)
    }

    /// Weighted max-min fair shares of `slots` for the tenants' demands (their streams):
    /// water-filling, so a tenant that asks for less than its weight's part gets what it
    /// asks for and the rest is shared by the others' weights.
    public static func fairShares(_ tenants: [Tenant], slots: Int) -> [Double] {
        var share = [Double](repeating: 0, count: tenants.count)
        var open = Set(tenants.indices)
        var left = Double(slots)
        while !open.isEmpty, left > 1e-9 {
            let weight = open.reduce(0) { $0 + tenants[$1].weight }
            let capped = open.filter { Double(tenants[$0].streams) - share[$0] <= left * tenants[$0].weight / weight }
            if capped.isEmpty {
                for t in open { share[t] += left * tenants[t].weight / weight }
                left = 0
            } else {
                for t in capped {
                    left -= Double(tenants[t].streams) - share[t]
                    share[t] = Double(tenants[t].streams)
                    open.remove(t)
                }
            }
        }
        let total = share.reduce(0, +)
        return share.map { $0 / max(total, 1e-9) }
    }
}
