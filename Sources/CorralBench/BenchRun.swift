import CorralCore
import Foundation

/// One point of a sweep: a target at one concurrency (or arrival rate), summarized.
public struct BenchRun: Sendable, Codable {
    /// The target's name.
    public var target: String
    /// Input/output lengths.
    public var shape: String
    /// Closed-loop concurrency, or nil for open-loop arrivals.
    public var concurrency: Int?
    /// Open-loop arrival rate (requests per second), or nil.
    public var rate: Double?
    /// Requests measured (warm-up excluded), and those that failed.
    public var requests: Int, failed: Int
    /// Failures by reason.
    public var failures: [String: Int]
    /// Whether every prompt had exactly the requested token count.
    public var exactInput: Bool
    /// Wall time of the measured part, seconds.
    public var seconds: Double
    /// Throughput.
    public var outputTokensPerSecond: Double, totalTokensPerSecond: Double, requestsPerSecond: Double
    /// Latency summaries, seconds.
    public var ttft: LatencySummary?, itl: LatencySummary?, tpot: LatencySummary?, e2e: LatencySummary?
    /// Share of requests meeting every SLO, and those requests per second (nil without SLOs).
    public var goodputFraction: Double?, goodputRequestsPerSecond: Double?
    /// Input and output tokens in all.
    public var inputTokens: Int, outputTokens: Int
    /// TTFT by the model each request named, when the run spread them over several.
    public var ttftByModel: [String: LatencySummary]?

    enum CodingKeys: String, CodingKey {
        case target, shape, concurrency, rate, requests, failed, failures, seconds, ttft, itl, tpot, e2e
        case exactInput = "exact_input"
        case outputTokensPerSecond = "output_tokens_per_second", totalTokensPerSecond = "total_tokens_per_second"
        case requestsPerSecond = "requests_per_second", goodputFraction = "goodput_fraction"
        case goodputRequestsPerSecond = "goodput_requests_per_second"
        case inputTokens = "input_tokens", outputTokens = "output_tokens", ttftByModel = "ttft_by_model"
    }

    /// Summarizes `results` measured over `seconds`.
    public init(target: String, shape: BenchShape, concurrency: Int?, rate: Double?, results: [RequestResult],
                seconds: Double, exactInput: Bool, slo: BenchSLO?) {
        self.target = target
        self.shape = shape.label
        self.concurrency = concurrency
        self.rate = rate
        self.exactInput = exactInput
        self.seconds = seconds
        let ok = results.filter { $0.error == nil }
        requests = results.count
        failed = results.count - ok.count
        failures = Dictionary(results.compactMap(\.error).map { ($0, 1) }, uniquingKeysWith: +)
        inputTokens = ok.reduce(0) { $0 + $1.inputTokens }
        outputTokens = ok.reduce(0) { $0 + $1.outputTokens }
        let wall = max(seconds, 1e-9)
        outputTokensPerSecond = Double(outputTokens) / wall
        totalTokensPerSecond = Double(inputTokens + outputTokens) / wall
        requestsPerSecond = Double(ok.count) / wall
        ttft = BenchStatistics.summary(ok.compactMap(\.timeToFirstToken))
        itl = BenchStatistics.summary(ok.flatMap(\.gaps))
        tpot = BenchStatistics.summary(ok.compactMap(\.meanInterTokenLatency))
        e2e = BenchStatistics.summary(ok.map(\.endToEnd))
        let named = Dictionary(grouping: ok.filter { $0.model != nil }, by: { $0.model! })
        if named.count > 1 {
            ttftByModel = named.compactMapValues { BenchStatistics.summary($0.compactMap(\.timeToFirstToken)) }
        }
        if let slo {
            let good = results.filter { slo.met(by: $0) }.count
            goodputFraction = results.isEmpty ? 0 : Double(good) / Double(results.count)
            goodputRequestsPerSecond = Double(good) / wall
        }
    }

    /// `c=8` or `rate=2.0/s`.
    public var load: String { concurrency.map { "c=\($0)" } ?? rate.map { String(format: "rate=%.2f/s", $0) } ?? "-" }
}
