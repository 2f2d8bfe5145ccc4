import Testing
@testable import LlamaEngine

/// The host's greedy pick, vectorised, against the scalar rule llama.cpp's greedy sampler
/// follows: the first index of the largest value.
@Suite("Greedy argmax")
struct ArgmaxTests {
    static func reference(_ values: [Float]) -> Int32 {
        var best = 0, bestValue = -Float.infinity
        for i in values.indices where values[i] > bestValue { (best, bestValue) = (i, values[i]) }
        return Int32(best)
    }

    static func pick(_ values: [Float]) -> Int32 { values.withUnsafeBufferPointer { LlamaSampler.argmax($0) } }

    @Test func picksTheFirstLargestValueAtEveryLengthAndPosition() {
        var rng = SystemRandomNumberGenerator()
        for length in [1, 15, 16, 17, 31, 33, 100, 1000, 49_153] {
            for _ in 0..<20 {
                // Few distinct values, so ties are common, across lanes and in the tail.
                var values = (0..<length).map { _ in Float(Int.random(in: 0..<8, using: &rng)) }
                if Bool.random(using: &rng) { values[Int.random(in: 0..<length, using: &rng)] = 9 }
                #expect(Self.pick(values) == Self.reference(values), "length \(length)")
            }
        }
    }

    @Test func skipsNaNAndGivesZeroForARowOfMinusInfinity() {
        #expect(Self.pick([Float](repeating: -.infinity, count: 40)) == 0)
        var values = [Float](repeating: 0, count: 40)
        values[3] = .nan
        values[35] = 1
        #expect(Self.pick(values) == 35)
        values[35] = .nan
        #expect(Self.pick(values) == Self.reference(values))
    }
}
