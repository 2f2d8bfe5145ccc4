import CorralCore

extension LlamaSampler {
    /// The first index of the largest value, as llama.cpp's greedy sampler picks it (NaN
    /// never wins; a row of -inf gives 0).
    ///
    /// One pass, sixteen lanes at a time: each lane keeps its largest value and where it
    /// first saw it, and the lanes are merged at the end (the largest value, at its lowest
    /// index). A 128k-vocabulary row is 512 KB, read once per sequence and step, so a
    /// scalar loop's compare-and-branch per element was most of a step's host time.
    static func argmax(_ values: UnsafeBufferPointer<Float>) -> Token {
        guard let base = values.baseAddress, values.count > 0 else { return 0 }
        let n = values.count
        var best = SIMD16<Float>(repeating: -.infinity)
        var at = SIMD16<Int32>(repeating: 0)
        var index = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let step = SIMD16<Int32>(repeating: 16)
        var i = 0
        let raw = UnsafeRawPointer(base)
        while i + 16 <= n {
            let chunk = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Float>.stride, as: SIMD16<Float>.self)
            let greater = chunk .> best
            best.replace(with: chunk, where: greater)
            at.replace(with: index, where: greater)
            index &+= step
            i += 16
        }
        var bestValue = -Float.infinity
        var bestIndex = Int32(0)
        for lane in 0..<16 where best[lane] > bestValue || (best[lane] == bestValue && at[lane] < bestIndex) {
            bestValue = best[lane]
            bestIndex = at[lane]
        }
        // A row of -inf (or NaN) leaves every lane at its start: index 0, as the scalar pick.
        if bestValue == -.infinity { bestIndex = 0 }
        while i < n {
            if base[i] > bestValue {
                bestValue = base[i]
                bestIndex = Int32(i)
            }
            i += 1
        }
        return Token(bestIndex)
    }
}
