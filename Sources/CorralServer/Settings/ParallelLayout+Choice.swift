extension ParallelLayout {
    /// Architectures llama.cpp's tensor split refuses to load (`llm_arch_supports_sm_tensor`
    /// in the pinned `src/llama-arch.cpp`), by `general.architecture`.
    public static let tensorDenied: Set<String> = [
        "grok", "mpt", "plamo2", "minicpm3", "gemma3n", "mamba", "mamba2", "jamba", "falcon-h1", "olmo2", "olmoe",
        "deepseek2", "deepseek32", "hy_v4", "dots3note", "glm-dsa", "bitnet", "t5", "nemotron_h", "nemotron_h_moe",
        "granitehybrid", "minimax-01", "minimax-m2", "minimax-m3", "mistral4", "kimi-linear", "bailingmoe3", "kimi-k3",
        "glm5-next", "qwen3tts", "qwen4exp",
    ]

    /// The KV tokens a device must hold beside the weights for the model to count as
    /// fitting it: one sequence of the trained context, up to 4096.
    static func reserveTokens(_ shape: ParallelShape) -> Int { min(max(shape.trainedContext, 1), 4096) }

    /// Why tensor split cannot serve `shape` on `devices`, or nil when it can.
    public static func tensorRefusal(_ shape: ParallelShape, devices: [Device], lora: Bool) -> String? {
        if tensorDenied.contains(shape.architecture) {
            return "llama.cpp's tensor split does not support the \(shape.architecture) architecture"
        }
        for (layer, heads) in shape.headCount.enumerated() where heads > 0 && shape.headCountKV[layer] == 0 {
            // n_gqa = n_head / n_head_kv in llama-model.cpp's split granularity: a division by zero.
            return "layer \(layer) has \(heads) attention heads and no KV heads (\(shape.architecture)), "
                + "which llama.cpp's tensor split divides by (it would crash loading)"
        }
        if lora { return "LoRA adapters (NIM_PEFT_SOURCE) are not split by llama.cpp's tensor split" }
        if let cpu = devices.first(where: { $0.kind == .cpu }) {
            return "\(cpu.name) cannot take part in a tensor split (llama.cpp skips host-memory devices)"
        }
        return nil
    }

    /// Chooses the layout. `visible` is what the engine sees, local GPUs and RPC devices in
    /// the engine's order (RPC first), with the CPU among them or not.
    /// - Parameters:
    ///   - gpuLayers: `NIM_GPU_LAYERS`; 0 keeps everything on the CPU.
    ///   - lora: whether adapters are served.
    ///   - memoryShare: `NIM_GPU_MEMORY_UTILIZATION`.
    /// - Throws: `ServerConfig.Invalid` naming the setting for a layout that cannot run:
    ///   more devices than visible, an unknown device, tensor split where it is refused,
    ///   TP and PP together, shares that do not match the devices.
    public static func choose(_ settings: ParallelSettings, shape: ParallelShape, visible: [Device], gpuLayers: Int,
                              lora: Bool, memoryShare: Double) throws(ServerConfig.Invalid) -> ParallelLayout {
        typealias Invalid = ServerConfig.Invalid
        let seen = visible.map(\.name).joined(separator: ", ")
        var pool = visible.filter { $0.kind != .cpu }
        if !settings.devices.isEmpty {
            pool = []
            for name in settings.devices {
                guard let device = visible.first(where: { $0.name == name }) else {
                    throw Invalid(description: "NIM_DEVICES (--devices) names \(name), which the engine does not see (it sees \(seen.isEmpty ? "none" : seen))")
                }
                pool.append(device)
            }
        }
        let tp = settings.tensorParallel ?? 1, pp = settings.pipelineParallel ?? 1
        if tp > 1 && pp > 1 {
            throw Invalid(description: "NIM_TENSOR_PARALLEL_SIZE=\(tp) with NIM_PIPELINE_PARALLEL_SIZE=\(pp): llama.cpp splits a model "
                          + "one way at a time, so use tensor parallel within a machine or pipeline parallel across machines, not both")
        }
        let sized = settings.tensorParallel != nil || settings.pipelineParallel != nil
        let asked = max(tp, pp)
        var mode: ParallelSettings.Choice = settings.splitMode
        if sized {
            let want: ParallelSettings.Choice = tp > 1 ? .tensor : pp > 1 ? .layer : .none
            let name = tp > 1 ? "NIM_TENSOR_PARALLEL_SIZE=\(tp)" : pp > 1 ? "NIM_PIPELINE_PARALLEL_SIZE=\(pp)" : "a size of 1"
            if mode != .auto && mode != want {
                throw Invalid(description: "NIM_SPLIT_MODE=\(mode.rawValue) contradicts \(name), which means split mode \(want.rawValue)")
            }
            mode = want
            // A size of 1 on a machine with nothing to offload to is the CPU.
            if asked > pool.count && !(asked == 1 && pool.isEmpty) {
                throw Invalid(description: "\(name) asks for \(asked) devices, but the engine sees \(pool.count)"
                              + (pool.isEmpty ? " (no GPU or RPC device)" : " (\(pool.map(\.name).joined(separator: ", ")))"))
            }
            pool = Array(pool.prefix(asked))
        }
        if gpuLayers == 0 || pool.isEmpty {
            if mode == .layer || mode == .tensor {
                throw Invalid(description: "NIM_SPLIT_MODE=\(mode.rawValue) needs GPU or RPC devices, but "
                              + (gpuLayers == 0 ? "NIM_GPU_LAYERS=0 keeps the model on the CPU" : "the engine sees none (\(seen))"))
            }
            return .cpu
        }
        if !settings.tensorSplit.isEmpty && settings.tensorSplit.count != pool.count && mode != .none {
            throw Invalid(description: "NIM_TENSOR_SPLIT (--tensor-split) has \(settings.tensorSplit.count) shares for "
                          + "\(pool.count) devices (\(pool.map(\.name).joined(separator: ", ")))")
        }
        let shares = mode == .none ? [] : settings.tensorSplit
        switch mode {
        case .none:
            return ParallelLayout(mode: .none, devices: [pool[0]], reason: sized ? "a profile of one device" : "NIM_SPLIT_MODE=none: one device")
        case .layer:
            return ParallelLayout(mode: .layer, devices: pool, shares: shares,
                                  reason: sized ? "NIM_PIPELINE_PARALLEL_SIZE=\(pp)" : "NIM_SPLIT_MODE=layer")
        case .tensor:
            if let why = tensorRefusal(shape, devices: pool, lora: lora) {
                throw Invalid(description: "\(sized ? "NIM_TENSOR_PARALLEL_SIZE=\(tp)" : "NIM_SPLIT_MODE=tensor") cannot serve this model: \(why); "
                              + "NIM_SPLIT_MODE=layer splits it by layers instead")
            }
            return ParallelLayout(mode: .tensor, devices: pool, shares: shares,
                                  reason: sized ? "NIM_TENSOR_PARALLEL_SIZE=\(tp)" : "NIM_SPLIT_MODE=tensor")
        case .auto:
            return auto(pool, shape: shape, shares: shares, lora: lora, memoryShare: memoryShare)
        }
    }

    /// `auto`: one device when the model fits one (a local GPU before an RPC worker's), else
    /// tensor split where allowed, else layer split.
    static func auto(_ pool: [Device], shape: ParallelShape, shares: [Double], lora: Bool,
                     memoryShare: Double) -> ParallelLayout {
        let need = shape.weightBytes + reserveTokens(shape) * shape.kvBytesPerToken.reduce(0, +)
        let first = pool.first { $0.kind == .gpu } ?? pool[0]
        let gib = { (bytes: Int) in ServeSetting.format((Double(bytes) / 1_073_741_824 * 10).rounded() / 10) + " GiB" }
        let fits = "the weights and \(reserveTokens(shape)) tokens of KV (\(gib(need)))"
        if pool.count == 1 || need <= first.usableBytes(share: memoryShare) {
            let why = pool.count == 1 ? "one device" : "\(fits) fit \(first.name) (\(gib(first.usableBytes(share: memoryShare))) usable)"
            return ParallelLayout(mode: .none, devices: [first], reason: "auto: \(why)")
        }
        let over = "auto: \(fits) do not fit one device"
        if let why = tensorRefusal(shape, devices: pool, lora: lora) {
            return ParallelLayout(mode: .layer, devices: pool, shares: shares,
                                  reason: "\(over); layer split over \(pool.count), as tensor split cannot: \(why)")
        }
        return ParallelLayout(mode: .tensor, devices: pool, shares: shares, reason: "\(over); tensor split over \(pool.count)")
    }
}
