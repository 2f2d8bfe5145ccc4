import CLlama
import Foundation

/// A LoRA adapter GGUF loaded against a model (`llama_adapter_lora_init`): its low-rank
/// pairs live next to the model's weights, on the same devices, and apply to a context
/// through `LlamaContext.useAdapter`. Freed when the last reference goes, which the
/// executor makes happen on the engine thread, after the context stops using it.
public final class LlamaAdapter: @unchecked Sendable {
    let pointer: OpaquePointer
    /// What the file's header says.
    public let header: Header

    /// An adapter file's header, read without loading its tensors.
    public struct Header: Sendable, Equatable {
        /// The architecture of the base model it was made for.
        public var architecture: String
        /// Its largest rank (the inner width of its low-rank pairs).
        public var rank: Int
        /// Its `adapter.lora.alpha` (0 when absent: the engine then scales by 1).
        public var alpha: Double
        /// Weight tensors it adapts (one `lora_a`, `lora_b` pair each).
        public var tensors: Int
    }

    /// Loads the adapter at `path` for `model`.
    /// - Parameter maxRank: the largest rank accepted; a file over it is refused unloaded.
    /// - Throws: `LlamaError` saying why: not a GGUF or corrupt, not a LoRA adapter, made
    ///   for another architecture, over the rank, or refused by the engine (another base
    ///   model of the same architecture shows up as a tensor of the wrong shape).
    public init(model: LlamaModel, path: String, maxRank: Int) throws(LlamaError) {
        let header = try Self.header(path: path)
        let base = model.metadata.architecture
        guard header.architecture == base else {
            throw .invalidArgument("the adapter was made for a \(header.architecture) model, the base model is \(base)")
        }
        guard header.rank <= maxRank else {
            throw .invalidArgument("the adapter's rank \(header.rank) is over the limit of \(maxRank)")
        }
        EngineLog.install()
        guard let pointer = llama_adapter_lora_init(model.pointer, path) else {
            throw .invalidArgument("the engine refused it: \(EngineLog.takeLastError())")
        }
        self.pointer = pointer
        self.header = header
    }

    deinit { llama_adapter_lora_free(pointer) }

    /// Reads and checks an adapter file's header: a GGUF of `general.type` `adapter` and
    /// `adapter.type` `lora`, with at least one `lora_a`/`lora_b` pair.
    public static func header(path: String) throws(LlamaError) -> Header {
        try GGUFReader.checkMagic(path: path)
        EngineLog.install()
        var tensors: OpaquePointer?
        let parsed: OpaquePointer? = withUnsafeMutablePointer(to: &tensors) { out in
            gguf_init_from_file(path, gguf_init_params(no_alloc: true, ctx: out))
        }
        guard let ctx = parsed, let tensors else { throw .corruptModel(path, EngineLog.takeLastError()) }
        defer {
            gguf_free(ctx)
            ggml_free(tensors)
        }
        let kv = KeyValues(ctx: ctx)
        guard kv.string("general.type") == "adapter", kv.string("adapter.type") == "lora" else {
            throw .invalidArgument("not a LoRA adapter (general.type \(kv.string("general.type") ?? "none"), "
                                   + "adapter.type \(kv.string("adapter.type") ?? "none"))")
        }
        var rank = 0, pairs = 0
        for id in 0..<gguf_get_n_tensors(ctx) {
            let name = String(cString: gguf_get_tensor_name(ctx, id))
            // lora_a is [n_in, rank] in ggml's order: its second dimension is the rank.
            guard name.hasSuffix(".lora_a"), let t = ggml_get_tensor(tensors, name) else { continue }
            rank = max(rank, Int(t.pointee.ne.1))
            pairs += 1
        }
        guard pairs > 0 else { throw .invalidArgument("the adapter holds no lora_a/lora_b tensors") }
        let alphaID = gguf_find_key(ctx, "adapter.lora.alpha")
        let alpha = alphaID >= 0 && gguf_get_kv_type(ctx, alphaID) == GGUF_TYPE_FLOAT32 ? Double(gguf_get_val_f32(ctx, alphaID)) : 0
        return Header(architecture: kv.string("general.architecture") ?? "unknown", rank: rank, alpha: alpha, tensors: pairs)
    }
}

extension LlamaContext {
    /// Applies `adapter` at `scale` to every pass from now on (nil: the base model alone).
    /// The engine re-plans its compute graph after a change, so switching costs one
    /// scheduling pass; setting the same adapter again costs nothing.
    public func useAdapter(_ adapter: LlamaAdapter?, scale: Float = 1) {
        guard let adapter else {
            _ = llama_set_adapters_lora(pointer, nil, 0, nil)
            return
        }
        var adapters: [OpaquePointer?] = [adapter.pointer]
        var scales = [scale]
        _ = llama_set_adapters_lora(pointer, &adapters, 1, &scales)
    }

    /// Makes `adapters` the ones sequences may run under, each token under its own
    /// sequence's (Corral's engine patch 0002, `llama_set_adapters_lora_pool`): the engine
    /// stacks their matrices and re-plans its graph once, here, and every sequence is
    /// detached (the base model) until `attach`.
    /// - Returns: false when the engine cannot pool one of them (an activated LoRA, or one
    ///   that adapts token embeddings or experts; the reason is in the engine's log).
    public func poolAdapters(_ adapters: [LlamaAdapter]) -> Bool {
        var pointers: [OpaquePointer?] = adapters.map(\.pointer)
        return pointers.withUnsafeMutableBufferPointer {
            llama_set_adapters_lora_pool(pointer, $0.baseAddress, $0.count) == 0
        }
    }

    /// Runs `sequence`'s tokens under `adapter` at `scale` from the next pass (nil: the
    /// base model); the adapter must be pooled. Costs no re-plan.
    public func attach(sequence: Int, to adapter: LlamaAdapter?, scale: Float = 1) -> Bool {
        llama_set_adapter_lora_seq(pointer, llama_seq_id(sequence), adapter?.pointer, scale) == 0
    }
}
