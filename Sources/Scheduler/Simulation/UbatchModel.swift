public import CorralCore

/// How llama.cpp cuts one `llama_decode` batch into ubatches, each a full pass over the
/// weights: a port of `llama_batch_allocr::split_equal(n_ubatch, sequential: true)` (one
/// KV stream per sequence) and `split_simple` (one shared stream) from the pinned
/// engine's `src/llama-batch.cpp`, for batches where each sequence appears once.
///
/// The simulated executor counts passes with it, so a scheduler that orders or places
/// work badly fails the tests without a model file.
public enum UbatchModel {
    /// Ubatches the engine runs for `work`, in this order.
    /// - Parameters:
    ///   - ubatch: the context's `n_ubatch`.
    ///   - partitioned: one KV stream per sequence (`split_equal`), or a unified cache
    ///     (`split_simple`).
    public static func passes(_ work: [SequenceWork], ubatch: Int, partitioned: Bool) -> Int {
        let total = work.reduce(0) { $0 + $1.tokens.count }
        guard partitioned else { return (total + ubatch - 1) / ubatch }
        var remaining = work.map(\.tokens.count)
        var passes = 0
        while remaining.contains(where: { $0 > 0 }) {
            // The sequence set: in batch order, only ids that follow the last one taken.
            var members: [Int] = []
            var last = -1
            for i in work.indices where remaining[i] > 0 && (members.isEmpty || work[i].slot == last + 1) {
                members.append(i)
                last = work[i].slot
                if members.count > ubatch { break }
            }
            // The same number of tokens from each, until one runs out or the ubatch is full.
            var rounds = 0
            while members.allSatisfy({ remaining[$0] > 0 }) {
                for m in members { remaining[m] -= 1 }
                rounds += 1
                if (rounds + 1) * members.count > ubatch { break }
            }
            passes += 1
        }
        return passes
    }
}
