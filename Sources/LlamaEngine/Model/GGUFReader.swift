public import CorralCore
import CLlama
import Foundation

/// Reads a GGUF header without loading tensor data, using ggml's own `gguf` parser.
///
/// This is how we tell "not a GGUF" and "corrupt header" apart before asking llama.cpp
/// to load weights, and how the capacity planner reads a model without its weights.
public enum GGUFReader {
    /// Reads the model metadata of the GGUF at `path`.
    /// - Throws: `LlamaError` with `.fileNotFound`, `.notGGUF` or `.corruptModel`.
    public static func metadata(path: String) throws(LlamaError) -> ModelMetadata {
        try withContext(path: path) { (ctx) throws(LlamaError) in try read(ctx) }
    }

    /// Totals over the tensors a GGUF holds, from its header alone.
    public struct TensorTotals: Sendable, Equatable {
        /// Parameters (tensor elements) in all.
        public var parameters: Int
        /// Bytes of tensor data, as stored (quantized sizes included).
        public var bytes: Int
        /// Tensors.
        public var count: Int
        /// Whether the output projection is its own tensor (false: tied to the embedding).
        public var hasOutputTensor: Bool
        /// Bytes of each block's tensors (`blk.N.*`), by block.
        public var layerBytes: [Int] = []
        /// Bytes of the output layer: `output.*` (its norm and projection), and the token
        /// embedding again when the projection is tied to it (llama.cpp then duplicates it
        /// onto the output layer's device).
        public var outputBytes = 0
    }

    /// Counts the parameters and bytes of every tensor in the GGUF at `path`, exactly, from
    /// the header's tensor table (no tensor data is read).
    public static func tensorTotals(path: String) throws(LlamaError) -> TensorTotals {
        try withContext(path: path) { ctx in
            var totals = TensorTotals(parameters: 0, bytes: 0, count: Int(gguf_get_n_tensors(ctx)), hasOutputTensor: false)
            var embedding = 0
            for id in 0..<gguf_get_n_tensors(ctx) {
                let type = gguf_get_tensor_type(ctx, id)
                let bytes = gguf_get_tensor_size(ctx, id)
                totals.bytes += bytes
                totals.parameters += bytes / ggml_type_size(type) * Int(ggml_blck_size(type))
                let name = String(cString: gguf_get_tensor_name(ctx, id))
                if name.hasPrefix("blk."), let block = Int(name.dropFirst(4).prefix { $0.isNumber }) {
                    if totals.layerBytes.count <= block { totals.layerBytes += Array(repeating: 0, count: block + 1 - totals.layerBytes.count) }
                    totals.layerBytes[block] += bytes
                } else if name.hasPrefix("output") {
                    totals.outputBytes += bytes
                } else if name == "token_embd.weight" {
                    embedding = bytes
                }
            }
            totals.hasOutputTensor = gguf_find_tensor(ctx, "output.weight") >= 0
            if !totals.hasOutputTensor { totals.outputBytes += embedding }
            return totals
        }
    }

    /// Checks the file's existence and magic, then parses the header with ggml.
    static func withContext<T>(path: String, _ body: (OpaquePointer) throws(LlamaError) -> T) throws(LlamaError) -> T {
        try checkMagic(path: path)
        EngineLog.install()
        let params = gguf_init_params(no_alloc: true, ctx: nil)
        guard let ctx = gguf_init_from_file(path, params) else {
            throw .corruptModel(path, EngineLog.takeLastError())
        }
        defer { gguf_free(ctx) }
        return try body(ctx)
    }

    /// Distinguishes a missing file, an empty file, and a file of another format.
    static func checkMagic(path: String) throws(LlamaError) {
        guard let file = fopen(path, "rb") else { throw .fileNotFound(path) }
        defer { fclose(file) }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = fread(&magic, 1, 4, file)
        if n == 0 { throw .notGGUF(path, "empty file") }
        if n < 4 || magic != Array("GGUF".utf8) { throw .notGGUF(path, "bad magic") }
    }

    private static func read(_ ctx: OpaquePointer) throws(LlamaError) -> ModelMetadata {
        let kv = KeyValues(ctx: ctx)
        let arch = kv.string("general.architecture") ?? "unknown"
        let layers = kv.int("\(arch).block_count") ?? 0
        let embd = kv.int("\(arch).embedding_length") ?? 0
        let heads = kv.perLayer("\(arch).attention.head_count", layers: layers) ?? Array(repeating: 0, count: layers)
        let headsKV = kv.perLayer("\(arch).attention.head_count_kv", layers: layers) ?? heads
        let ffn = kv.perLayer("\(arch).feed_forward_length", layers: layers) ?? Array(repeating: 0, count: layers)
        let widest = heads.max() ?? 0
        let headDim = widest > 0 ? embd / widest : 0
        let vocab = kv.arrayCount("tokenizer.ggml.tokens") ?? kv.int("\(arch).vocab_size") ?? 0
        var metadata = ModelMetadata(
            architecture: arch,
            name: kv.string("general.name"),
            trainingContextLength: kv.int("\(arch).context_length") ?? 0,
            embeddingLength: embd,
            layerCount: layers,
            vocabSize: vocab,
            headCount: heads,
            headCountKV: headsKV,
            feedForwardLength: ffn,
            keyLength: kv.int("\(arch).attention.key_length") ?? headDim,
            valueLength: kv.int("\(arch).attention.value_length") ?? headDim,
            chatTemplate: kv.string("tokenizer.chat_template")
        )
        metadata.pooling = kv.int("\(arch).pooling_type").flatMap(EmbeddingPooling.init(ggufValue:))
        return metadata
    }
}

/// Typed access to a GGUF context's key-value pairs.
struct KeyValues {
    let ctx: OpaquePointer

    func string(_ key: String) -> String? {
        let id = gguf_find_key(ctx, key)
        guard id >= 0, gguf_get_kv_type(ctx, id) == GGUF_TYPE_STRING else { return nil }
        return String(cString: gguf_get_val_str(ctx, id))
    }

    func int(_ key: String) -> Int? {
        let id = gguf_find_key(ctx, key)
        guard id >= 0 else { return nil }
        return scalar(id, type: gguf_get_kv_type(ctx, id))
    }

    func arrayCount(_ key: String) -> Int? {
        let id = gguf_find_key(ctx, key)
        guard id >= 0, gguf_get_kv_type(ctx, id) == GGUF_TYPE_ARRAY else { return nil }
        return gguf_get_arr_n(ctx, id)
    }

    /// A per-layer value, expanded to `layers` entries whether stored as scalar or array.
    func perLayer(_ key: String, layers: Int) -> [Int]? {
        let id = gguf_find_key(ctx, key)
        guard id >= 0 else { return nil }
        let type = gguf_get_kv_type(ctx, id)
        if type != GGUF_TYPE_ARRAY {
            return scalar(id, type: type).map { Array(repeating: $0, count: layers) }
        }
        let n = gguf_get_arr_n(ctx, id)
        guard let data = gguf_get_arr_data(ctx, id) else { return nil }
        let elementType = gguf_get_arr_type(ctx, id)
        var values: [Int] = []
        values.reserveCapacity(n)
        for i in 0..<n {
            guard let v = element(data, i, type: elementType) else { return nil }
            values.append(v)
        }
        return values
    }

    private func scalar(_ id: Int64, type: gguf_type) -> Int? {
        switch type {
        case GGUF_TYPE_UINT8: Int(gguf_get_val_u8(ctx, id))
        case GGUF_TYPE_INT8: Int(gguf_get_val_i8(ctx, id))
        case GGUF_TYPE_UINT16: Int(gguf_get_val_u16(ctx, id))
        case GGUF_TYPE_INT16: Int(gguf_get_val_i16(ctx, id))
        case GGUF_TYPE_UINT32: Int(gguf_get_val_u32(ctx, id))
        case GGUF_TYPE_INT32: Int(gguf_get_val_i32(ctx, id))
        case GGUF_TYPE_UINT64: Int(clamping: gguf_get_val_u64(ctx, id))
        case GGUF_TYPE_INT64: Int(gguf_get_val_i64(ctx, id))
        default: nil
        }
    }

    private func element(_ data: UnsafeRawPointer, _ i: Int, type: gguf_type) -> Int? {
        switch type {
        case GGUF_TYPE_UINT8: Int(data.load(fromByteOffset: i, as: UInt8.self))
        case GGUF_TYPE_INT8: Int(data.load(fromByteOffset: i, as: Int8.self))
        case GGUF_TYPE_UINT16: Int(data.load(fromByteOffset: 2 * i, as: UInt16.self))
        case GGUF_TYPE_INT16: Int(data.load(fromByteOffset: 2 * i, as: Int16.self))
        case GGUF_TYPE_UINT32: Int(data.load(fromByteOffset: 4 * i, as: UInt32.self))
        case GGUF_TYPE_INT32: Int(data.load(fromByteOffset: 4 * i, as: Int32.self))
        case GGUF_TYPE_UINT64: Int(clamping: data.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        case GGUF_TYPE_INT64: Int(data.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
        default: nil
        }
    }
}
