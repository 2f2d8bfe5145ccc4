/// Percentiles and summaries over latency samples.
public enum BenchStatistics {
    /// The `p`-th percentile (0...100) by linear interpolation between closest ranks, as
    /// numpy's default does; nil for no samples.
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = p / 100 * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down)), upper = Int(rank.rounded(.up))
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - Double(lower))
    }

    /// p50, p90, p99 and the mean of `samples`.
    public static func summary(_ samples: [Double]) -> LatencySummary? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return LatencySummary(p50: percentile(sorted, 50)!, p90: percentile(sorted, 90)!, p99: percentile(sorted, 99)!,
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
