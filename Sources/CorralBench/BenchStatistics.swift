import CorralCore

/// Percentiles and summaries over latency samples.
public enum BenchStatistics {
    /// p50, p90, p99 and the mean of `samples`.
    public static func summary(_ samples: [Double]) -> LatencySummary? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return LatencySummary(p50: Percentile.of(sorted, 50)!, p90: Percentile.of(sorted, 90)!, p99: Percentile.of(sorted, 99)!,
                              mean: sorted.reduce(0, +) / Double(sorted.count))
    }
}

/// Latency percentiles in seconds.
public struct LatencySummary: Sendable, Codable, Equatable {
    /// Median.
    public var p50: Double
    /// 90th percentile.
    public var p90: Double
    /// 99th percentile.
    public var p99: Double
    /// Mean.
    public var mean: Double
}
