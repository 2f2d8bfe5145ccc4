/// The one percentile definition every report uses (`corral bench`, `corral simulate`,
/// the benchmarks), so their figures compare.
public enum Percentile {
    /// The `p`-th percentile (0...100) of `sorted` (ascending), by linear interpolation
    /// between closest ranks as numpy's default does; nil for no samples.
    public static func of(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = p / 100 * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down)), upper = Int(rank.rounded(.up))
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - Double(lower))
    }
}
