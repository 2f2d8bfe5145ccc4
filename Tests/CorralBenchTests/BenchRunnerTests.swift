import CorralBench
import Testing

/// How a run spreads its requests over several models.
@Suite("Benchmark model shares")
struct BenchRunnerTests {
    func runner(models: [String], seed: UInt64) -> BenchRunner {
        var r = BenchRunner(name: "t", client: BenchClient(baseURL: "http://127.0.0.1:1"),
                            shape: BenchShape(inputTokens: 8, outputTokens: 8), amount: .requests(64), warmup: 0,
                            slo: nil, seed: seed)
        r.models = models
        return r
    }

    @Test("each block of requests names each model once, so shares stay equal")
    func equalShares() {
        let r = runner(models: ["a", "b", "c", "d"], seed: 1)
        for block in 0..<32 {
            let shares = (0..<4).map { r.share(of: block * 4 + $0) }
            #expect(shares.sorted() == [0, 1, 2, 3])
        }
    }

    @Test("a model does not keep one place in every block, as round robin would")
    func placesMove() {
        let r = runner(models: ["a", "b", "c", "d"], seed: 1)
        // The place in a block that the last model takes, block by block.
        let lastPlaces = Set((0..<32).map { block in (0..<4).first { r.share(of: block * 4 + $0) == 3 }! })
        #expect(lastPlaces.count == 4)
        // The same seed gives the same order; another seed another.
        let again = runner(models: ["a", "b", "c", "d"], seed: 1)
        let other = runner(models: ["a", "b", "c", "d"], seed: 2)
        #expect((0..<64).map(r.share(of:)) == (0..<64).map(again.share(of:)))
        #expect((0..<64).map(r.share(of:)) != (0..<64).map(other.share(of:)))
    }
}
