import CorralCore
import Foundation
import Synchronization

/// Drives one target: closed-loop concurrency (each worker sends its next request when the
/// last ends) or open-loop Poisson arrivals, after a warm-up that is not measured.
public struct BenchRunner: Sendable {
    /// How many requests, or for how long.
    public enum Amount: Sendable {
        /// A fixed number of measured requests.
        case requests(Int)
        /// Requests started within this many seconds.
        case seconds(Double)
    }

    /// The target's name and client.
    public var name: String
    public var client: BenchClient
    /// Lengths of each request.
    public var shape: BenchShape
    /// How much to measure at each load.
    public var amount: Amount
    /// Requests sent and discarded before measuring.
    public var warmup: Int
    /// Goodput objectives.
    public var slo: BenchSLO?
    /// Seed for length spread and arrivals.
    public var seed: UInt64
    /// Called with a progress line (a terminal shows it); nil for none.
    public var progress: (@Sendable (String) -> Void)?
    /// The first prompt index: load points use different prompts, so a prefix cache does
    /// not answer one point's prompts from another's.
    public var promptOffset = 0
    /// Prompts from the repeat-heavy workload instead of random words; nil for random words.
    public var rewrite: RewriteWorkload?
    /// Model names to send in equal shares (LoRA adapters of one base, say); empty sends the
    /// client's own. See `share(of:)` for which request names which.
    public var models: [String] = []
    /// Closed loop: the warm-up runs at the load's concurrency and the measured requests
    /// follow it without a pause (perf_analyzer's steady state), so no measured request
    /// meets the opening burst, where every client sends at once and late places queue for
    /// seconds. Off: the warm-up runs and drains first, and the measured part opens with a
    /// burst of `concurrency` requests.
    public var steadyState = false

    /// Creates a runner.
    public init(name: String, client: BenchClient, shape: BenchShape, amount: Amount, warmup: Int, slo: BenchSLO?,
                seed: UInt64 = 1, progress: (@Sendable (String) -> Void)? = nil) {
        self.name = name
        self.client = client
        self.shape = shape
        self.amount = amount
        self.warmup = warmup
        self.slo = slo
        self.seed = seed
        self.progress = progress
    }

    /// Prompts for `count` requests, built before the clock starts.
    func prompts(_ count: Int, offset: Int) async -> (items: [(String, Int, Int)], exact: Bool) {
        var rng = SplitMix64(seed: seed &+ UInt64(offset))
        let factory = PromptFactory(client: client)
        var items: [(String, Int, Int)] = []
        var exact = true
        for i in 0..<count {
            if let rewrite {
                let text = rewrite.prompt(index: offset + i)
                let measured = await client.countTokens(text)
                exact = exact && measured != nil
                items.append((text, measured ?? text.split(separator: " ").count, shape.outputTokens))
                continue
            }
            let (input, output) = shape.draw { rng.unit() }
            let p = await factory.prompt(tokens: input, index: offset + i)
            exact = exact && p.exact
            items.append((p.text, input, output))
        }
        return (items, exact)
    }

    /// A closed-loop run at `concurrency`.
    public func closedLoop(concurrency: Int) async -> BenchRun {
        if steadyState { return await steadyLoop(concurrency: concurrency) }
        if warmup > 0 { _ = await closedLoopRequests(concurrency: concurrency, count: warmup, offset: 1_000_000 + promptOffset, label: "warm-up") }
        let count = measuredCount
        let (results, seconds, exact) = await closedLoopRequests(concurrency: concurrency, count: count, offset: promptOffset,
                                                                 label: "c=\(concurrency)")
        return BenchRun(target: name, shape: shape, concurrency: concurrency, rate: nil, results: results,
                        seconds: seconds, exactInput: exact, slo: slo)
    }

    /// A closed loop whose first `warmup` requests are not measured. Throughput counts the
    /// measured requests' tokens from the first measured send to the last measured end.
    private func steadyLoop(concurrency: Int) async -> BenchRun {
        let (results, _, exact) = await closedLoopRequests(concurrency: concurrency, count: measuredCount, offset: promptOffset,
                                                           label: "c=\(concurrency)", discard: warmup)
        let first = results.map(\.start).min() ?? 0
        let last = results.map { $0.start + $0.endToEnd }.max() ?? first
        return BenchRun(target: name, shape: shape, concurrency: concurrency, rate: nil, results: results,
                        seconds: last - first, exactInput: exact, slo: slo)
    }

    /// Measured requests at a load: the amount's count, or `Int.max` for a timed run.
    private var measuredCount: Int {
        if case .requests(let n) = amount { n } else { Int.max }
    }

    /// Runs requests from `concurrency` workers and returns the `count` after the first
    /// `discard` (`Int.max`: until the amount's seconds are up), the wall time from the
    /// start, and whether every prompt was exact.
    private func closedLoopRequests(concurrency: Int, count measured: Int, offset: Int, label: String, discard: Int = 0)
        async -> ([RequestResult], Double, Bool) {
        let count = measured == Int.max ? Int.max : measured + discard
        let planned: Int
        switch amount {
        case .requests: planned = count
        case .seconds(let s): planned = discard + max(concurrency, Int(s * 64))  // prompt pool, reused cyclically
        }
        let (items, exact) = await prompts(min(planned, 4096), offset: offset)
        let next = Shared(0)
        let collected = Shared<[RequestResult]>([])
        let origin = ContinuousClock.now
        // A timed run's clock starts with its first measured request.
        let deadline = Shared<ContinuousClock.Instant?>(nil)
        let timed: Double? = if case .seconds(let s) = amount, count == Int.max { s } else { nil }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(concurrency, 1) {
                group.addTask {
                    while true {
                        let i = next.withLock { n in defer { n += 1 }; return n }
                        if i >= count { return }
                        if let timed, i >= discard {
                            let now = ContinuousClock.now
                            let end = deadline.withLock { d in
                                if d == nil { d = now + .milliseconds(Int(timed * 1000)) }
                                return d!
                            }
                            if now >= end { return }
                        }
                        let (prompt, input, output) = items[i % items.count]
                        let r = await complete(request: i, prompt: prompt, input: input, output: output, origin: origin)
                        if i < discard { progress?("\(name) \(label): warm-up"); continue }
                        let done = collected.withLock { $0.append(r); return $0.count }
                        progress?("\(name) \(label): \(done) done")
                    }
                }
            }
        }
        return (collected.withLock { $0 }, (ContinuousClock.now - origin).seconds, exact)
    }

    /// Sends request `i`, naming its share's model when the run spreads over `models`.
    private func complete(request i: Int, prompt: String, input: Int, output: Int,
                          origin: ContinuousClock.Instant) async -> RequestResult {
        guard !models.isEmpty else {
            return await client.complete(prompt: prompt, inputTokens: input, outputTokens: output, startedAt: origin)
        }
        let share = share(of: i)
        var client = client
        client.model = models[share]
        var r = await client.complete(prompt: prompt, inputTokens: input, outputTokens: output, startedAt: origin)
        if let label = shareLabel(share) { r.model = label }
        return r
    }

    /// Which of `models` request `i` names. Each block of `models.count` requests names each
    /// model once, in an order shuffled per block from the seed. Round robin (`i % count`)
    /// would pin each model to the same places of every wave: a closed loop of equal-length
    /// requests keeps its clients in step, so the model named last in a burst always queues
    /// last and its TTFT p99 is the burst's worst whatever the model does.
    public func share(of i: Int) -> Int {
        let count = models.count
        var rng = SplitMix64(seed: seed &+ 0x5eed &+ UInt64(i / count))
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        return order[i % count]
    }

    /// The label that groups a share's TTFT: the model's name, or `name#share` (from 1) when
    /// `models` names one model more than once, as a control run splits the base model's
    /// requests into the same shares that adapters get.
    private func shareLabel(_ share: Int) -> String? {
        Set(models).count == models.count ? nil : "\(models[share])#\(share + 1)"
    }

    /// An open-loop run: requests arrive as a Poisson process at `rate` per second.
    public func poisson(rate: Double) async -> BenchRun {
        if warmup > 0 { _ = await closedLoopRequests(concurrency: 1, count: warmup, offset: 1_000_000 + promptOffset, label: "warm-up") }
        let count: Int
        switch amount {
        case .requests(let n): count = n
        case .seconds(let s): count = max(1, Int(s * rate))
        }
        let (items, exact) = await prompts(count, offset: promptOffset)
        var rng = SplitMix64(seed: seed &+ 7)
        let origin = ContinuousClock.now
        let collected = Shared<[RequestResult]>([])
        await withTaskGroup(of: Void.self) { group in
            var at = 0.0
            for i in 0..<count {
                at += -log(1 - rng.unit()) / rate
                let wait = origin + .milliseconds(Int(at * 1000)) - ContinuousClock.now
                if wait > .zero { try? await Task.sleep(for: wait) }
                let (prompt, input, output) = items[i]
                group.addTask {
                    let r = await complete(request: i, prompt: prompt, input: input, output: output, origin: origin)
                    let done = collected.withLock { $0.append(r); return $0.count }
                    progress?("\(name) rate=\(rate)/s: \(done)/\(count) done")
                }
            }
        }
        return BenchRun(target: name, shape: shape, concurrency: nil, rate: rate, results: collected.withLock { $0 },
                        seconds: (ContinuousClock.now - origin).seconds, exactInput: exact, slo: slo)
    }
}

/// A value shared by the workers of one run.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout sending Value) -> sending R) -> R { value.withLock(body) }
}

