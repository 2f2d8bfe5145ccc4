import CorralCore
import CorralBench
import Testing

/// The benchmark's arithmetic on known data.
@Suite("Benchmark statistics")
struct BenchStatisticsTests {
    @Test("percentiles interpolate between ranks, as numpy does")
    func percentiles() {
        let data = (1...100).map(Double.init)
        #expect(Percentile.of(data, 50) == 50.5)
        #expect(abs(Percentile.of(data, 90)! - 90.1) < 1e-9)
        #expect(abs(Percentile.of(data, 99)! - 99.01) < 1e-9)
        #expect(Percentile.of([7], 99) == 7)
        #expect(Percentile.of([], 50) == nil)
        let s = BenchStatistics.summary([4, 1, 3, 2])!
        #expect(s.p50 == 2.5 && s.mean == 2.5 && abs(s.p99 - 3.97) < 1e-9)
    }

    @Test("SLOs and shapes parse; bad ones are refused")
    func parsing() {
        #expect(BenchSLO.parse("ttft=0.5,itl=50ms,e2e=10s") == BenchSLO(ttft: 0.5, itl: 0.05, e2e: 10))
        #expect(BenchSLO.parse("ttft=-1") == nil && BenchSLO.parse("speed=3") == nil && BenchSLO.parse("ttft") == nil)
        #expect(BenchShape.parse("2048/128") == BenchShape(inputTokens: 2048, outputTokens: 128))
        #expect(BenchShape.parse("100/7") == BenchShape(inputTokens: 100, outputTokens: 7))
        #expect(BenchShape.parse("0/7") == nil && BenchShape.parse("abc") == nil)
    }
}
