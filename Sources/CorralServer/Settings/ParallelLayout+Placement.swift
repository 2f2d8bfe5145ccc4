/// One device's part of the model, as the engine places it (`/v1/metadata`'s `devices`).
public struct DevicePlacement: Sendable, Equatable, Codable {
    /// The engine's name for the device.
    public var name: String
    /// What it is (a GPU's product name, an RPC worker's endpoint).
    public var description: String
    /// `gpu`, `rpc` or `cpu`.
    public var kind: String
    /// Transformer blocks it runs (under tensor split: every block, a share of each).
    public var layers: Int
    /// The first and last of them, when it has any.
    public var firstLayer: Int?
    /// The last of its layers.
    public var lastLayer: Int?
    /// Whether it runs the output layer (the logits).
    public var output: Bool
    /// KV cells it holds for its layers (every cell of the cache, for its layers or heads).
    public var kvCells: Int
    /// KV bytes: its layers' (or heads') f16 K and V over `kvCells`.
    public var kvBytes: Int
    /// Weight bytes it holds.
    public var weightBytes: Int
    /// Work buffers, estimated: a step's activations, and its logits on the output device.
    public var workBytes: Int
    /// Free memory the backend reported at startup.
    public var freeBytes: Int

    enum CodingKeys: String, CodingKey {
        case name, description, kind, layers, output
        case firstLayer = "first_layer", lastLayer = "last_layer", kvCells = "kv_cells", kvBytes = "kv_bytes"
        case weightBytes = "weight_bytes", workBytes = "work_bytes_estimate", freeBytes = "free_bytes"
    }

    /// Weights, KV and work buffers together.
    public var totalBytes: Int { weightBytes + kvBytes + workBytes }
}

extension ParallelLayout {
    /// Where llama.cpp puts each block (and, at index `layerCount`, the output layer): the
    /// device's index in `devices`, or nil for the CPU. The rule of the pinned
    /// `llama_model_base::load_tensors`: the first `layerCount + 1 - gpuLayers` blocks stay on
    /// the CPU; the rest go to the devices in order, cut where the running share of the split
    /// (`shares`, else each device's free memory) passes each block's position.
    public func deviceOfLayer(layerCount: Int, gpuLayers: Int, cpuFreeBytes: Int) -> [Int?] {
        let all = layerCount + 1
        guard !devices.isEmpty else { return Array(repeating: nil, count: all) }
        let offloaded = gpuLayers < 0 ? all : gpuLayers
        let start = max(all - offloaded, 0), active = min(offloaded, all)
        var weights = shares.count == devices.count && shares.contains(where: { $0 > 0 }) ? shares.map { Float($0) }
            : devices.map { Float($0.freeBytes == 0 && $0.totalBytes == 0 ? cpuFreeBytes : $0.freeBytes) }
        if mode != .layer { weights = [1] + Array(repeating: 0, count: devices.count - 1) }
        let sum = weights.reduce(0, +)
        var running: Float = 0
        let splits = weights.map { running += $0; return running / max(sum, .leastNonzeroMagnitude) }
        return (0..<all).map { layer -> Int? in
            guard layer >= start, layer - start < active else { return nil }
            let point = Float(layer - start) / Float(active)
            return min(splits.firstIndex { $0 > point } ?? devices.count - 1, devices.count - 1)
        }
    }

    /// Each device's part, the CPU first when it keeps blocks (or everything).
    /// - Parameters:
    ///   - kvCells: the KV cache's cells (every sequence together).
    ///   - batchTokens: tokens per step, for the work-buffer estimate.
    ///   - cpu: the local CPU, for blocks that are not offloaded.
    public func placement(_ shape: ParallelShape, gpuLayers: Int, kvCells: Int, batchTokens: Int,
                          cpu: Device) -> [DevicePlacement] {
        let layers = shape.layerCount
        let owner = deviceOfLayer(layerCount: layers, gpuLayers: gpuLayers, cpuFreeBytes: cpu.freeBytes)
        let activations = batchTokens * shape.embedding * 4 * 4
        let logits = batchTokens * shape.vocab * 4
        func part(_ device: Device, blocks: [Int], output: Bool, share: Double) -> DevicePlacement {
            let kvPerToken = blocks.reduce(0) { $0 + shape.kvBytesPerToken[$1] }
            let weights = blocks.reduce(0) { $0 + shape.layerBytes[$1] } + (output ? shape.outputBytes : 0)
            return DevicePlacement(
                name: device.name, description: device.description, kind: device.kind.rawValue,
                layers: blocks.count, firstLayer: blocks.first, lastLayer: blocks.last, output: output,
                kvCells: blocks.isEmpty ? 0 : kvCells, kvBytes: Int(Double(kvPerToken * kvCells) * share),
                weightBytes: Int(Double(weights) * share),
                workBytes: blocks.isEmpty && !output ? 0 : activations + (output ? Int(Double(logits) * share) : 0),
                freeBytes: device.freeBytes)
        }
        var parts: [DevicePlacement] = []
        let onCPU = (0..<layers).filter { owner[$0] == nil }
        if !onCPU.isEmpty || owner[layers] == nil {
            parts.append(part(cpu, blocks: onCPU, output: owner[layers] == nil, share: 1))
        }
        if mode == .tensor {
            // Every block's rows (and KV heads) over all devices, in proportion to the shares.
            let weights = shares.count == devices.count ? shares : devices.map { Double(max($0.freeBytes, 1)) }
            let sum = weights.reduce(0, +)
            let blocks = (0..<layers).filter { owner[$0] != nil }
            for (index, device) in devices.enumerated() {
                parts.append(part(device, blocks: blocks, output: owner[layers] != nil, share: weights[index] / sum))
            }
            return parts
        }
        for (index, device) in devices.enumerated() {
            parts.append(part(device, blocks: (0..<layers).filter { owner[$0] == index }, output: owner[layers] == index, share: 1))
        }
        return parts
    }

    /// The first device whose part does not fit what this server may use of it, as an error
    /// naming the device and what to change; nil when every part fits. The CPU is left to
    /// the host-memory sizing.
    public static func overflow(_ parts: [DevicePlacement], devices: [Device], memoryShare: Double) -> String? {
        for part in parts where part.kind != Device.Kind.cpu.rawValue {
            guard let device = devices.first(where: { $0.name == part.name }) else { continue }
            let usable = device.usableBytes(share: memoryShare)
            if part.totalBytes > usable {
                let mib = { (bytes: Int) in "\(bytes >> 20) MiB" }
                return "\(part.name) (\(part.description)) would hold \(mib(part.totalBytes)): weights \(mib(part.weightBytes)), "
                    + "KV \(mib(part.kvBytes)), work \(mib(part.workBytes)); it has \(mib(usable)) usable. Lower NIM_KV_CACHE_TOKENS, "
                    + "move the split (NIM_TENSOR_SPLIT) or add devices"
            }
        }
        return nil
    }
}
