import Foundation
import CorralCore

/// Runs a synthetic workload through the scheduler on the simulated engine's virtual
/// clock, to compare policies at scale without a model. Deterministic for a given seed.
public struct PolicySimulation: Sendable {
    /// The workload.
    public struct Workload: Sendable {
        /// Requests to send.
        public var requests: Int
        /// Mean arrivals per second (Poisson).
        public var arrivalRate: Double
        /// Prompt lengths are drawn uniformly from this range…
        public var promptTokens: ClosedRange<Int>
        /// …except this share of requests, which get `longPromptTokens`.
        public var longPromptShare: Double
        /// The long prompts' length.
        public var longPromptTokens: Int
        /// Output lengths, drawn uniformly.
        public var outputTokens: ClosedRange<Int>
        /// Random seed.
        public var seed: UInt64

        /// Creates a workload.
        public init(requests: Int = 2000, arrivalRate: Double = 8, promptTokens: ClosedRange<Int> = 64...512,
                    longPromptShare: Double = 0.05, longPromptTokens: Int = 4000,
                    outputTokens: ClosedRange<Int> = 64...256, seed: UInt64 = 1) {
            self.requests = requests
            self.arrivalRate = arrivalRate
            self.promptTokens = promptTokens
            self.longPromptShare = longPromptShare
            self.longPromptTokens = longPromptTokens
            self.outputTokens = outputTokens
            self.seed = seed
        }
    }

    /// What a run measured, in virtual seconds.
    public struct Result: Sendable {
        /// Generated tokens per second over the whole run.
        public var outputTokensPerSecond: Double
        /// Inter-token latency percentiles (p50, p90, p99).
        public var interTokenLatency: (p50: Double, p90: Double, p99: Double)
        /// Time to first token percentiles.
        public var timeToFirstToken: (p50: Double, p90: Double, p99: Double)
        /// Requests that completed.
        public var completed: Int
        /// Preemptions.
        public var preemptions: Int
    }

    /// Runs `workload` with `config` on an engine of `kvCapacity` cells.
    public static func run(_ workload: Workload, config: SchedulerConfig, kvCapacity: Int) -> Result {
        let executor = SimulatedExecutor(kvCapacity: kvCapacity, slotCount: config.maxRunningSequences,
                                         maxBatchTokens: config.maxBatchTokens)
        let core = SchedulerCore(executor: executor, config: config, clock: { executor.now })
        var rng = SplitMix64(seed: workload.seed)
        var arrival = 0.0
        var pending: [(time: Double, request: GenerationRequest)] = (0..<workload.requests).map { _ in
            arrival += -log(max(rng.unit(), 1e-12)) / workload.arrivalRate
            let long = rng.unit() < workload.longPromptShare
            let length = long ? workload.longPromptTokens : rng.int(in: workload.promptTokens)
            let prompt = (0..<length).map { _ in Token(1 + rng.int(in: 0...998)) }
            return (arrival, GenerationRequest(prompt: prompt, maxTokens: rng.int(in: workload.outputTokens), ignoreEOS: true))
        }
        pending.reverse()
        var lastToken: [UInt64: Double] = [:], seen: [UInt64: Int] = [:]
        var itl: [Double] = [], ttft: [Double] = []
        var generated = 0
        while !pending.isEmpty || core.hasWork {
            if !core.hasWork, let next = pending.last, next.time > executor.now { executor.advance(to: next.time) }
            while let next = pending.last, next.time <= executor.now {
                pending.removeLast()
                let (_, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
                _ = try? core.enqueue(next.request, continuation: continuation)
            }
            let (plan, _) = core.step(recording: 0)
            if plan.isEmpty {
                // Nothing can move until the next arrival.
                guard let next = pending.last else { break }
                executor.advance(to: next.time)
                continue
            }
            for (seq, _) in plan.items {
                // Tokens kept across a preemption were counted when they were made.
                let count = seen[seq.id] ?? 0
                guard seq.generatedCount > count else { continue }
                if let last = lastToken[seq.id] { itl.append(executor.now - last) } else { ttft.append(executor.now - seq.arrival) }
                lastToken[seq.id] = executor.now
                seen[seq.id] = seq.generatedCount
                generated += seq.generatedCount - count
            }
        }
        func percentiles(_ values: [Double]) -> (Double, Double, Double) {
            let sorted = values.sorted()
            func at(_ p: Double) -> Double { Percentile.of(sorted, p) ?? 0 }
            return (at(50), at(90), at(99))
        }
        return Result(outputTokensPerSecond: Double(generated) / max(executor.now, 1e-9),
                      interTokenLatency: percentiles(itl), timeToFirstToken: percentiles(ttft),
                      completed: core.counters.succeeded, preemptions: core.counters.preemptions)
    }
}
