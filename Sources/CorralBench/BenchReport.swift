public import Foundation

/// A whole benchmark: the machine's description and every run, as Markdown and JSON.
public struct BenchReport: Sendable, Codable {
    /// When and where it ran.
    public var date: String, host: String
    /// Every point, in order.
    public var runs: [BenchRun]

    /// Creates a report.
    public init(runs: [BenchRun]) {
        self.runs = runs
        date = ISO8601DateFormatter().string(from: Date())
        host = "\(ProcessInfo.processInfo.hostName), \(ProcessInfo.processInfo.activeProcessorCount) cores, "
            + String(format: "%.0f GiB", Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824)
    }

    /// Pretty JSON.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// `a ÷ b` for each load both ran: throughput, TTFT and ITL percentiles. Above 1 is
    /// better for throughput, below 1 is better for latencies.
    public func ratioTable(_ a: String, _ b: String) -> String {
        func ratio(_ x: Double?, _ y: Double?) -> String {
            guard let x, let y, y > 0 else { return "-" }
            return String(format: "%.2f", x / y)
        }
        var lines = ["| shape | load | output tok/s \(a) ÷ \(b) | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 |",
                     "|---|---|---|---|---|---|---|"]
        for ra in runs where ra.target == a {
            guard let rb = runs.first(where: { $0.target == b && $0.load == ra.load && $0.shape == ra.shape }) else { continue }
            lines.append("| \(ra.shape) | \(ra.load) | \(ratio(ra.outputTokensPerSecond, rb.outputTokensPerSecond)) | "
                + "\(ratio(ra.ttft?.p50, rb.ttft?.p50)) | \(ratio(ra.ttft?.p99, rb.ttft?.p99)) | "
                + "\(ratio(ra.itl?.p50, rb.itl?.p50)) | \(ratio(ra.itl?.p99, rb.itl?.p99)) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One Markdown table row per run; latencies in milliseconds.
    public func markdown() -> String {
        func ms(_ v: Double?) -> String { v.map { String(format: "%.1f", $0 * 1000) } ?? "-" }
        var lines = ["| target | shape | load | requests | failed | output tok/s | total tok/s | req/s | TTFT p50 | TTFT p90 | TTFT p99 | ITL p50 | ITL p90 | ITL p99 | TPOT p50 | E2E p50 | E2E p99 | goodput |",
                     "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in runs {
            let goodput = r.goodputFraction.map { String(format: "%.0f%%", $0 * 100) } ?? "-"
            lines.append("| \(r.target) | \(r.shape) | \(r.load) | \(r.requests) | \(r.failed) | "
                + String(format: "%.1f | %.1f | %.2f", r.outputTokensPerSecond, r.totalTokensPerSecond, r.requestsPerSecond)
                + " | \(ms(r.ttft?.p50)) | \(ms(r.ttft?.p90)) | \(ms(r.ttft?.p99)) | \(ms(r.itl?.p50)) | \(ms(r.itl?.p90)) | "
                + "\(ms(r.itl?.p99)) | \(ms(r.tpot?.p50)) | \(ms(r.e2e?.p50)) | \(ms(r.e2e?.p99)) | \(goodput) |")
        }
        for r in runs {
            guard let byModel = r.ttftByModel else { continue }
            let models = byModel.keys.sorted()
            let p99s = models.compactMap { byModel[$0]?.p99 }
            let spread = (p99s.min() ?? 0) > 0 ? String(format: " (worst ÷ best p99: %.2f)", p99s.max()! / p99s.min()!) : ""
            lines.append("\nTTFT by model, \(r.target) \(r.load)\(spread): "
                + models.map { "\($0) p50 \(ms(byModel[$0]?.p50)) / p99 \(ms(byModel[$0]?.p99)) ms" }.joined(separator: "; "))
        }
        let failures = runs.filter { !$0.failures.isEmpty }
            .map { "- \($0.target) \($0.load): " + $0.failures.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ") }
        return lines.joined(separator: "\n") + "\n" + (failures.isEmpty ? "" : "\nFailures:\n" + failures.joined(separator: "\n") + "\n")
    }
}
