public import CorralCore
import Dispatch

/// Runs scheduler steps on the real engine: one `llama_batch` per step holding every
/// sequence's tokens, one sampler chain per slot. Used only from the engine thread.
public final class LlamaExecutor: BatchExecutor, @unchecked Sendable {
    /// The context this executor owns.
    public let context: LlamaContext
    private var samplers: [LlamaSampler?]
    /// Seconds the last step spent sampling, for the per-step time breakdown.
    public private(set) var lastSampleSeconds: Double = 0
    /// Seconds the last `execute` (or `embed`) spent in the engine's call, for the
    /// host-time figure.
    public private(set) var lastEngineSeconds: Double = 0

    /// CPUs a step's sampling may spread over: the engine's own budget, so a pod with a
    /// 2-CPU limit on a large host does not fan out to every core it can see.
    private let samplingThreads: Int
    /// LoRA adapters loaded, by id (all pooled: any mix of them shares a pass), and the
    /// adapter each slot's sequence is attached to (0: the base model).
    private var adapters: [Int: LlamaAdapter] = [:]
    private var attached: [Int]
    private var lastAdapterID = 0
    /// Slots the engine samples inside its graph (plain greedy requests); nil when off.
    let device: DeviceSamplers?
    /// Token bytes for detokenizing, kept once asked for.
    private let pieces: TokenPieces

    /// Wraps a context; its sequence count is the slot count.
    /// - Parameters:
    ///   - samplingThreads: CPUs to sample a step's rows on (the engine's threads).
    ///   - deviceSampling: let the engine sample plain greedy requests in its graph, so
    ///     only their token ids come back (`DeviceSamplers`); the output is the same. It
    ///     pays on a GPU and costs on the CPU backend, so `EngineLoader` turns it on only
    ///     where the output layer is on a GPU; tests leave it on to exercise it.
    public init(context: LlamaContext, samplingThreads: Int = 1, deviceSampling: Bool = true) {
        self.context = context
        self.samplers = Array(repeating: nil, count: context.maxSequences)
        self.attached = Array(repeating: 0, count: context.maxSequences)
        self.samplingThreads = max(samplingThreads, 1)
        self.device = deviceSampling ? DeviceSamplers(context: context) : nil
        self.pieces = TokenPieces(model: context.model)
    }

    public var kvCapacity: Int { context.contextLength }
    public var slotCount: Int { context.maxSequences }
    public var maxBatchTokens: Int { context.batchCapacity }
    public var sequenceCapacity: Int { context.sequenceCapacity }

    public func open(slot: Int, sampling: SamplingParameters, history: [Token]) {
        let sampler = LlamaSampler(model: context.model, parameters: sampling)
        sampler.accept(history)
        samplers[slot] = sampler
        device?.open(slot: slot, sampling: sampling)
    }

    public func execute(_ work: [SequenceWork]) throws(ExecutorError) -> [[SampledToken]] {
        try activateAdapter(for: work)
        context.clearBatch()
        prepareDeviceSampling(work)
        var sampleAt: [Int?] = []
        sampleAt.reserveCapacity(work.count)
        do {
            for w in work {
                var index: Int?
                // Logits for the last token, and for each draft token (every position verified).
                let firstSampled = w.tokens.count - 1 - (w.sample ? w.draft : 0)
                for (offset, token) in w.tokens.enumerated() {
                    let wants = w.sample && offset >= firstSampled
                    let i = try context.add(token: token, position: w.startPosition + offset, sequence: w.slot,
                                            wantsLogits: wants)
                    if wants && index == nil { index = i }
                }
                sampleAt.append(index)
            }
            let decoding = ContinuousClock.now
            defer { lastEngineSeconds = (ContinuousClock.now - decoding).seconds }
            try context.decode()
            context.synchronize()  // so the compute is timed as compute, not as sampling
        } catch where error.code == .noKVSpace {
            throw ExecutorError.outOfKV
        } catch {
            throw ExecutorError.failed(error.description)
        }
        let sampling = ContinuousClock.now
        defer { lastSampleSeconds = (ContinuousClock.now - sampling).seconds }
        let out = sample(work, at: sampleAt)
        // Rejected draft tokens leave the KV, so the sequence holds exactly what it accepted.
        for (w, tokens) in zip(work, out) where w.draft > 0 && !tokens.isEmpty && tokens.count < w.draft + 1 {
            context.trimSequence(w.slot, from: w.startPosition + w.committedCount + tokens.count - 1)
        }
        return out
    }

    /// Samples every position that asked for it. Each sequence has its own sampler and
    /// reads only its own rows of logits, so with many sequences the rows are spread over
    /// the CPUs (idle at this point: the compute has finished); a 128k vocabulary makes a
    /// row tens of microseconds even for greedy.
    private func sample(_ work: [SequenceWork], at sampleAt: [Int?]) -> [[SampledToken]] {
        var out = [[SampledToken]](repeating: [], count: work.count)
        // Rows the engine sampled on the device are done; the host samples the rest.
        var hostRows: [Int] = []
        hostRows.reserveCapacity(work.count)
        for i in work.indices {
            guard let at = sampleAt[i], samplers[work[i].slot] != nil else { continue }
            if let token = deviceToken(work[i], at: at) { out[i] = [SampledToken(token: token)] } else { hostRows.append(i) }
        }
        let jobs = hostRows
        let one = { [context, samplers] (i: Int) -> [SampledToken] in
            let first = sampleAt[i]!, w = work[i], sampler = samplers[w.slot]!
            var result: [SampledToken] = []
            result.reserveCapacity(w.draft + 1)
            // Verify the draft in order: each position is sampled as plain decoding would,
            // and the run stops at the first sample that differs from the draft.
            for j in 0...w.draft {
                let token = sampler.sample(context, batchIndex: first + j)
                let logprobs = w.logprobs.map { context.logprobs(batchIndex: first + j, chosen: token, top: $0) }
                result.append(SampledToken(token: token, logprobs: logprobs))
                if j == w.draft || token != w.tokens[w.tokens.startIndex + w.committedCount + j] { break }
            }
            return result
        }
        let workers = min(samplingThreads, jobs.count / Self.rowsPerWorker)
        guard workers > 1 else {
            for i in jobs { out[i] = one(i) }
            return out
        }
        // The first logits read reorders the engine's outputs; after it, reads only read.
        // Each job touches one sampler and one row and writes one result slot, and no job
        // shares any of them, which is why the unchecked captures below are safe.
        context.prepareOutputs()
        nonisolated(unsafe) let sampleOne = one
        out.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let results = buffer
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for j in stride(from: w, to: jobs.count, by: workers) { results[jobs[j]] = sampleOne(jobs[j]) }
            }
        }
        return out
    }

    /// Fewest rows worth a worker of their own.
    private static let rowsPerWorker = 4

    public func release(slot: Int) {
        context.removeSequence(slot)
        samplers[slot] = nil
        device?.release(slot: slot)
    }

    public func copy(from source: Int, to destination: Int, length: Int) {
        context.copySequence(from: source, to: destination, length: length)
    }

    public func trim(slot: Int, from position: Int) {
        context.trimSequence(slot, from: position)
    }

    public func saveState(slot: Int) -> SavedKV? {
        let length = context.lastPosition(of: slot) + 1
        guard length > 0, let bytes = context.saveSequence(slot) else { return nil }
        return SavedKV(bytes: bytes, length: length)
    }

    public func restoreState(_ state: SavedKV, slot: Int) -> Bool {
        context.restoreSequence(slot, from: state.bytes)
    }

    public func move(from source: Int, to destination: Int, length: Int) {
        // A partition copy moves the whole stream's buffer, so skip it when there is nothing in it.
        if length > 0 { context.copySequence(from: source, to: destination, length: length) }
        context.removeSequence(source)
        samplers[destination] = samplers[source]
        samplers[source] = nil
        device?.move(from: source, to: destination)
    }

    public var packsSlots: Bool { !context.unifiedKV }

    public func loadAdapter(path: String, maxRank: Int) throws(ExecutorError) -> LoadedAdapter {
        let adapter: LlamaAdapter
        do { adapter = try LlamaAdapter(model: context.model, path: path, maxRank: maxRank) } catch {
            throw .failed(error.message)
        }
        lastAdapterID += 1
        adapters[lastAdapterID] = adapter
        guard repool() else {
            adapters[lastAdapterID] = nil
            _ = repool()
            throw .failed("the engine cannot run this adapter per sequence (it adapts token embeddings or experts, "
                          + "or is an activated LoRA)")
        }
        let h = adapter.header
        return LoadedAdapter(id: lastAdapterID, rank: h.rank, alpha: h.alpha, tensors: h.tensors)
    }

    public func unloadAdapter(_ id: Int) {
        guard let adapter = adapters.removeValue(forKey: id) else { return }
        _ = repool()  // what stays pooled stacked before: it pools again
        withExtendedLifetime(adapter) {}  // the last reference: the engine frees it here, on the engine thread
    }

    /// Any mix of adapters shares a pass (engine patch 0002).
    public var mixesAdapters: Bool { true }

    /// Pools every loaded adapter, in id order; every slot is the base model's until its
    /// next step attaches it again.
    private func repool() -> Bool {
        attached = Array(repeating: 0, count: attached.count)
        return context.poolAdapters(adapters.sorted { $0.key < $1.key }.map(\.value))
    }

    /// Attaches each slot of the step to the adapter its work names, where it changed.
    private func activateAdapter(for work: [SequenceWork]) throws(ExecutorError) {
        for w in work where attached[w.slot] != w.adapter {
            let adapter = w.adapter == 0 ? nil : adapters[w.adapter]
            guard w.adapter == 0 || adapter != nil, context.attach(sequence: w.slot, to: adapter) else {
                throw .failed("LoRA adapter \(w.adapter) is not loaded")
            }
            attached[w.slot] = w.adapter
        }
    }

    public func isEndOfGeneration(_ token: Token) -> Bool { context.model.isEndOfGeneration(token) }

    public func tokenBytes(_ token: Token) -> [UInt8] { pieces.bytes(token) }

    /// The bytes `token` decodes to; `special` renders a control token's text too.
    public func tokenBytes(_ token: Token, special: Bool) -> [UInt8] { context.model.tokenBytes(token, special: special) }
}

extension LlamaExecutor {
    /// Whole inputs in the context's pooled pass; no KV room is `.outOfKV`, as in `execute`.
    public func embed(_ work: [SequenceWork]) throws(ExecutorError) -> [[Float]] {
        try activateAdapter(for: work)
        // A pooled pass outputs every token, more than a device sampler takes per sequence.
        for w in work { device?.fallBack(slot: w.slot) }
        let pooling = ContinuousClock.now
        defer { lastEngineSeconds = (ContinuousClock.now - pooling).seconds }
        do {
            let vectors = try context.embed(work.map { (sequence: $0.slot, tokens: $0.tokens) })
            context.synchronize()
            return vectors
        } catch where error.code == .noKVSpace {
            throw ExecutorError.outOfKV
        } catch {
            throw ExecutorError.failed(error.description)
        }
    }

    /// One pass (`n_ubatch`) of the context.
    public var maxEmbeddingTokens: Int { context.passCapacity }
}
