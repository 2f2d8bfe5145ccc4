import ArgumentParser
import Foundation
import CorralCore
import Scheduler

/// `corral simulate`: compares scheduling policies on the simulated engine (a benchmark
/// that prints figures; no model needed).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Compare scheduling policies on a simulated engine: step order, or (--tenants) FCFS against fair share.")

    @Flag(help: "Tenants instead: three tenants (weights 1, 1, 2), the heaviest flooding at 10x its share; FCFS against fair share.")
    var tenants = false

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
        if tenants { return runTenants() }
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

    /// The tenants scenario: shares of output tokens, TTFT, and Jain's index per policy.
    func runTenants() {
        let share = Double(maxNumSeqs) / 4  // a weight-1 tenant's part of the slots
        let tenants = [TenantSimulation.Tenant(name: "a", weight: 1, streams: 2),
                       TenantSimulation.Tenant(name: "b", weight: 1, streams: Int(share)),
                       TenantSimulation.Tenant(name: "flood", weight: 2, streams: Int(share * 2 * 10))]
        print("tenants: " + tenants.map { "\($0.name) (weight \(Int($0.weight)), \($0.streams) streams)" }.joined(separator: ", ")
              + "; closed loop, prompts 32-256 tokens, outputs 32-128; 120 s simulated, the first 12 s not measured")
        print("engine: simulated, step cost 5 ms + 0.2 ms/prompt token + 0.5 ms/decode token; \(maxBatchTokens) tokens/step, \(maxNumSeqs) sequences, \(kvCacheTokens) KV cells")
        print("")
        print("| policy | tenant | fair share | output share | TTFT p50 ms | TTFT p99 ms | Jain's index | preemptions |")
        print("|---|---|---|---|---|---|---|---|")
        // The last run is the baseline for TTFT: the same tenants without the flood.
        let runs = [("fcfs", SchedulerConfig.Policy.fcfs, tenants), ("fair", .fair, tenants),
                    ("fair, no flood", .fair, Array(tenants.dropLast()))]
        for (label, policy, tenants) in runs {
            let config = SchedulerConfig(maxBatchTokens: maxBatchTokens, maxRunningSequences: maxNumSeqs,
                                         maxWaitingRequests: 100_000, maxWaitingTokens: Int.max, policy: policy)
            let r = TenantSimulation.run(tenants, config: config, kvCapacity: kvCacheTokens, seed: seed)
            for t in r.tenants {
                let pct = { (x: Double) in String(format: "%.1f%%", x * 100) }
                let ms = { (x: Double) in String(format: "%.0f", x * 1000) }
                print("| \(label) | \(t.tenant.name) | \(pct(t.fairShare)) | \(pct(t.share)) | \(ms(t.ttftP50)) | \(ms(t.ttftP99)) | "
                      + "\(String(format: "%.3f", r.jainIndex)) | \(r.preemptions) |")
            }
        }
    }
}
