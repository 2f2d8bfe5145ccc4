public import CorralCore

/// A deterministic stand-in for the engine, for scheduler tests and policy simulations.
///
/// Token `t` at position `p` of a sequence is followed by `next(t, p)`, a pure function,
/// so a sequence's output does not depend on batching, preemption or timing. It models a
/// unified KV cache cell by cell, with cells shared between slots by `copy` and freed when
/// no slot holds them, and throws `.outOfKV` if asked to exceed capacity, so tests catch a
/// scheduler whose accounting is off. Each step advances a virtual clock by
/// `stepCost(prefill, decode)`.
public final class SimulatedExecutor: BatchExecutor, @unchecked Sendable {
    /// KV cells.
    public let kvCapacity: Int
    /// Sequence slots.
    public let slotCount: Int
    /// Tokens per step.
    public let maxBatchTokens: Int
    /// Tokens that end generation; `next` avoids them unless `eogEvery` > 0.
    public let eogToken: Token = 0
    /// Vocabulary size of the fake model.
    public let vocabSize: Int32 = 1000
    /// Emit EOG when `(t + p) % eogEvery == 0` (0 never).
    public var eogEvery: Int = 0
    /// Seconds per step as a function of prefill and decode tokens.
    public var stepCost: @Sendable (Int, Int) -> Double = { prefill, decode in 0.005 + 0.0002 * Double(prefill) + 0.0005 * Double(decode) }

    /// Model llama.cpp's partitioned layout: a step splits into one pass per run of
    /// consecutive ascending slots (see `UbatchModel`), and the scheduler packs slots.
    public var partitioned = false
    /// Let a step mix LoRA adapters, as Corral's patched engine does; off, a step runs
    /// one adapter, as the unpatched engine's pass does.
    public var mixesAdapters = false
    /// The engine's `n_ubatch`, for counting passes.
    public var ubatchSize = 512
    /// Passes over the weights each step took.
    public private(set) var passes: [Int] = []
    /// Virtual time elapsed, in seconds.
    public private(set) var now: Double = 0
    /// Make each sampled token depend on everything in the slot's KV (see `next(history:)`),
    /// so a slot that holds the wrong history (another conversation's state, or a stale
    /// tail left by a bad trim) changes the output, as it would on the real engine.
    public var historySensitive = false
    /// Physical cell ids held by each slot, by position.
    private var cells: [[Int]]
    /// The tokens those cells were computed from, by position.
    private var contents: [[Token]]
    /// How many slots hold each physical cell.
    private var refcount: [Int]
    private var freeCells: [Int]
    /// Steps executed, with (prefill, decode) token counts.
    public private(set) var steps: [(prefill: Int, decode: Int)] = []
    /// The largest total KV use seen.
    public private(set) var peakUsed = 0
    /// The LoRA adapter each step ran under (0: the base model).
    public private(set) var stepAdapters: [Int] = []
    /// Adapters loaded, by id.
    public private(set) var adapters: Set<Int> = []
    private var nextAdapter = 0

    /// Creates a simulated engine.
    public init(kvCapacity: Int, slotCount: Int, maxBatchTokens: Int) {
        self.kvCapacity = kvCapacity
        self.slotCount = slotCount
        self.maxBatchTokens = maxBatchTokens
        self.cells = Array(repeating: [], count: slotCount)
        self.contents = Array(repeating: [], count: slotCount)
        self.refcount = Array(repeating: 0, count: kvCapacity)
        self.freeCells = Array((0..<kvCapacity).reversed())
    }

    /// Moves the virtual clock forward to `time` (an idle engine waiting for arrivals).
    public func advance(to time: Double) { now = max(now, time) }

    /// Cells in use (held by at least one slot).
    public var usedCells: Int { kvCapacity - freeCells.count }

    /// Positions stored per slot (shared cells count in every slot that holds them).
    public var used: [Int] { cells.map(\.count) }

    /// The token that follows `token` at `position`: deterministic, never the EOG token
    /// unless `eogEvery` says so.
    /// Under a LoRA adapter the token is shifted by the adapter's id.
    public func next(after token: Token, position: Int, adapter: Int = 0) -> Token {
        if eogEvery > 0 && (Int(token) + position) % eogEvery == 0 { return eogToken }
        let mixed: Int = Int(token) &* 31 &+ position &* 7 &+ adapter
        return Token(1 + mixed % (Int(vocabSize) - 1))
    }

    /// The token that follows a slot holding `history` when `historySensitive` is set: a
    /// hash of every token and position, never the EOG token.
    public func next(history: [Token]) -> Token {
        var h: UInt64 = 1469598103934665603
        for t in history { h = (h ^ UInt64(UInt32(bitPattern: t))) &* 1099511628211 }
        return Token(1 + Int(h % UInt64(vocabSize - 1)))
    }

    /// The tokens whose KV `slot` holds, by position.
    public func history(of slot: Int) -> [Token] { contents[slot] }

    public func open(slot: Int, sampling: SamplingParameters, history: [Token]) {}

    public func execute(_ work: [SequenceWork]) throws(ExecutorError) -> [[SampledToken]] {
        let adapter = try checkAdapter(work)
        let total = work.reduce(0) { $0 + $1.tokens.count }
        guard total <= maxBatchTokens else { throw ExecutorError.failed("batch of \(total) over \(maxBatchTokens)") }
        guard total <= freeCells.count else { throw ExecutorError.outOfKV }
        var prefill = 0, decode = 0
        var out: [[SampledToken]] = []
        for w in work {
            guard w.draft == 0 || (w.sample && w.draft < w.tokens.count) else { throw ExecutorError.failed("bad draft") }
            try store(w)
            if w.committedCount == 1 && w.sample && w.startPosition > 0 { decode += w.tokens.count } else { prefill += w.tokens.count }
            guard w.sample else {
                out.append([])
                continue
            }
            // Each position's token, as decoding one at a time would sample it, until one
            // differs from the draft token fed after it.
            var sampled: [SampledToken] = []
            for j in 0...w.draft {
                let end = w.committedCount + j  // tokens of this work fed up to the sampled position
                let token = historySensitive ? next(history: Array(contents[w.slot].prefix(w.startPosition + end)))
                    : next(after: w.tokens[w.tokens.startIndex + end - 1], position: w.startPosition + end - 1, adapter: w.adapter)
                sampled.append(SampledToken(token: token))
                if j == w.draft || token != w.tokens[w.tokens.startIndex + end] { break }
            }
            if sampled.count < w.draft + 1 { trim(slot: w.slot, from: w.startPosition + w.committedCount + sampled.count - 1) }
            out.append(sampled)
        }
        peakUsed = max(peakUsed, usedCells)
        steps.append((prefill, decode))
        stepAdapters.append(adapter)
        passes.append(UbatchModel.passes(work, ubatch: ubatchSize, partitioned: partitioned))
        now += stepCost(prefill, decode)
        return out
    }

    /// The one adapter every item of a step names (the first item's, where steps may mix
    /// them); without `mixesAdapters` a mixed step is the scheduler's bug, and an unknown
    /// adapter always is.
    private func checkAdapter(_ work: [SequenceWork]) throws(ExecutorError) -> Int {
        let adapter = work.first?.adapter ?? 0
        guard mixesAdapters || work.allSatisfy({ $0.adapter == adapter }) else { throw .failed("one step mixes LoRA adapters") }
        for w in work where w.adapter != 0 && !adapters.contains(w.adapter) {
            throw .failed("LoRA adapter \(w.adapter) is not loaded")
        }
        return adapter
    }

    /// A simulated adapter: any path loads, with rank 8, unless the path says `bad`; under
    /// it every sampled token differs from the base model's.
    public func loadAdapter(path: String, maxRank: Int) throws(ExecutorError) -> LoadedAdapter {
        guard !path.contains("bad") else { throw .failed("not a LoRA adapter") }
        guard maxRank >= 8 else { throw .failed("rank 8 is over the limit of \(maxRank)") }
        nextAdapter += 1
        adapters.insert(nextAdapter)
        return LoadedAdapter(id: nextAdapter, rank: 8, alpha: 16, tensors: 4)
    }

    public func unloadAdapter(_ id: Int) { adapters.remove(id) }

    /// Takes cells for `w`'s tokens in its slot, which must hold exactly the positions before.
    private func store(_ w: SequenceWork) throws(ExecutorError) {
        guard cells[w.slot].count == w.startPosition else { throw ExecutorError.failed("slot \(w.slot) position gap") }
        for _ in w.tokens {
            let cell = freeCells.removeLast()
            refcount[cell] = 1
            cells[w.slot].append(cell)
        }
        contents[w.slot] += w.tokens
    }

    /// Width of the simulated embedding vectors.
    public static let embeddingWidth = 16

    /// A pooled pass: the inputs' cells are taken (and stay until `release`), and each
    /// vector is a deterministic function of its input's tokens alone (a hashed bag of
    /// tokens), normalized, so batching cannot change it.
    public func embed(_ work: [SequenceWork]) throws(ExecutorError) -> [[Float]] {
        _ = try checkAdapter(work)
        let total = work.reduce(0) { $0 + $1.tokens.count }
        guard total <= freeCells.count else { throw ExecutorError.outOfKV }
        var out: [[Float]] = []
        for w in work {
            guard w.startPosition == 0 else { throw ExecutorError.failed("an embedding input starts at position 0") }
            try store(w)
            var vector = [Float](repeating: 0, count: Self.embeddingWidth)
            for token in w.tokens { vector[Int(UInt32(bitPattern: token) % UInt32(Self.embeddingWidth))] += 1 }
            out.append(l2Normalized(vector))
        }
        peakUsed = max(peakUsed, usedCells)
        steps.append((total, 0))
        passes.append(UbatchModel.passes(work, ubatch: ubatchSize, partitioned: partitioned))
        now += stepCost(total, 0)
        return out
    }

    public func release(slot: Int) {
        for cell in cells[slot] {
            refcount[cell] -= 1
            if refcount[cell] == 0 { freeCells.append(cell) }
        }
        cells[slot] = []
        contents[slot] = []
    }

    public func trim(slot: Int, from position: Int) {
        guard position < cells[slot].count else { return }
        for cell in cells[slot][position...] {
            refcount[cell] -= 1
            if refcount[cell] == 0 { freeCells.append(cell) }
        }
        cells[slot].removeLast(cells[slot].count - position)
        contents[slot].removeLast(contents[slot].count - position)
    }

    /// The slot's tokens, four bytes each: the state's size grows with its length, as the
    /// engine's does.
    public func saveState(slot: Int) -> SavedKV? {
        guard !contents[slot].isEmpty else { return nil }
        let bytes = contents[slot].flatMap { t in withUnsafeBytes(of: t.littleEndian) { Array($0) } }
        return SavedKV(bytes: bytes, length: contents[slot].count)
    }

    public func restoreState(_ state: SavedKV, slot: Int) -> Bool {
        precondition(cells[slot].isEmpty, "restore onto a busy slot")
        guard state.length <= freeCells.count, state.bytes.count == state.length * 4 else { return false }
        contents[slot] = stride(from: 0, to: state.bytes.count, by: 4).map { i in
            Token(littleEndian: state.bytes[i..<i + 4].enumerated().reduce(0) { $0 | Token($1.element) << (8 * $1.offset) })
        }
        cells[slot] = (0..<state.length).map { _ in
            let cell = freeCells.removeLast()
            refcount[cell] = 1
            return cell
        }
        peakUsed = max(peakUsed, usedCells)
        return true
    }

    public func copy(from source: Int, to destination: Int, length: Int) {
        if partitioned {
            // Partitions share nothing: the engine copies the buffer, so the cells are new.
            precondition(cells[destination].isEmpty, "copy onto a busy partition")
            cells[destination] = (0..<min(length, cells[source].count)).map { _ in
                let cell = freeCells.removeLast()
                refcount[cell] = 1
                return cell
            }
            contents[destination] = Array(contents[source].prefix(length))
            peakUsed = max(peakUsed, usedCells)
            return
        }
        let shared = Array(cells[source].prefix(length))
        let kept = cells[destination]
        // The destination may already hold a prefix of the same cells (an entry grown in place).
        precondition(kept.count <= shared.count && Array(shared.prefix(kept.count)) == kept, "copy over foreign cells")
        for cell in shared.dropFirst(kept.count) { refcount[cell] += 1 }
        cells[destination] = shared
        contents[destination] = Array(contents[source].prefix(length))
    }

    public func move(from source: Int, to destination: Int, length: Int) {
        precondition(cells[destination].isEmpty, "move onto a busy slot")
        precondition(cells[source].count == length, "move of \(length) cells from a slot holding \(cells[source].count)")
        cells[destination] = cells[source]
        cells[source] = []
        contents[destination] = contents[source]
        contents[source] = []
    }

    public var packsSlots: Bool { partitioned }

    public func isEndOfGeneration(_ token: Token) -> Bool { token == eogToken }

    public func tokenBytes(_ token: Token) -> [UInt8] { Array("w\(token) ".utf8) }
}
