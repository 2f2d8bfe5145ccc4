import ArgumentParser
import Foundation
import CorralCore
import Scheduler

/// `corral simulate`: compares step policies on the simulated engine (a benchmark that
/// prints figures; no model needed).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Compare decode-first chunked prefill with prefill-first scheduling on a simulated engine.")

    @Option(help: "Requests in the workload.")
    var requests = 2000
    @Option(help: "Mean arrivals per second (Poisson).")
    var rate = 6.0
    @Option(help: "Tokens per step.")
    var maxBatchTokens = 512
    @Option(help: "Running sequences.")
    var maxNumSeqs = 32
    @Option(help: "KV cells.")
    var kvCacheTokens = 32768
    @Option(help: "Share of requests with a 4000-token prompt.")
    var longShare = 0.05
    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    func run() throws {
        let workload = PolicySimulation.Workload(requests: requests, arrivalRate: rate, longPromptShare: longShare, seed: seed)
        print("workload: \(requests) requests at \(rate)/s, prompts 64-512 tokens (\(Int(longShare * 100))% at 4000), outputs 64-256")
        print("engine: simulated, step cost 5 ms + 0.2 ms/prompt token + 0.5 ms/decode token; \(maxBatchTokens) tokens/step, \(maxNumSeqs) sequences, \(kvCacheTokens) KV cells")
        print("")
        print("| step order | output tok/s | ITL p50 ms | ITL p90 ms | ITL p99 ms | TTFT p50 ms | TTFT p99 ms | preemptions |")
        print("|---|---|---|---|---|---|---|---|")
        for order in SchedulerConfig.StepOrder.allCases {
            let config = SchedulerConfig(maxBatchTokens: maxBatchTokens, maxRunningSequences: maxNumSeqs,
                                         maxWaitingRequests: requests, maxWaitingTokens: Int.max, stepOrder: order)
            let r = PolicySimulation.run(workload, config: config, kvCapacity: kvCacheTokens)
            let ms = { (x: Double) in String(format: "%.1f", x * 1000) }
            print("| \(order.rawValue) | \(String(format: "%.1f", r.outputTokensPerSecond)) | \(ms(r.interTokenLatency.p50)) | \(ms(r.interTokenLatency.p90)) | \(ms(r.interTokenLatency.p99)) | \(ms(r.timeToFirstToken.p50)) | \(ms(r.timeToFirstToken.p99)) | \(r.preemptions) |")
        }
    }
}
