import CLlama

/// The compute devices the engine build can use, from ggml's backend registry: the CPU,
/// and GPUs when the engine was built with CUDA (or another GPU backend).
public struct EngineDevice: Sendable, Equatable {
    /// What kind of device.
    public enum Kind: String, Sendable {
        /// Host CPU.
        case cpu
        /// A discrete GPU.
        case gpu
        /// An integrated GPU.
        case integratedGPU = "igpu"
        /// An accelerator that works alongside the CPU (BLAS, AMX).
        case accelerator
    }

    /// ggml's device name, e.g. `CUDA0` or `CPU`.
    public var name: String
    /// A human description, e.g. the GPU's product name.
    public var description: String
    /// The device kind.
    public var kind: Kind
    /// Free memory in bytes, as the backend reports it.
    public var freeBytes: Int
    /// Total memory in bytes.
    public var totalBytes: Int
    /// The backend (registry) the device belongs to, e.g. `CUDA`.
    public var backend: String

    /// Every device, in the registry's order.
    public static func all() -> [EngineDevice] {
        EngineLog.install()
        return (0..<ggml_backend_dev_count()).compactMap { index in
            guard let dev = ggml_backend_dev_get(index) else { return nil }
            var free = 0, total = 0
            ggml_backend_dev_memory(dev, &free, &total)
            let kind: Kind = switch ggml_backend_dev_type(dev) {
            case GGML_BACKEND_DEVICE_TYPE_GPU: .gpu
            case GGML_BACKEND_DEVICE_TYPE_IGPU: .integratedGPU
            case GGML_BACKEND_DEVICE_TYPE_CPU: .cpu
            default: .accelerator
            }
            let reg = ggml_backend_dev_backend_reg(dev)
            return EngineDevice(name: String(cString: ggml_backend_dev_name(dev)),
                                description: String(cString: ggml_backend_dev_description(dev)),
                                kind: kind, freeBytes: free, totalBytes: total,
                                backend: reg.map { String(cString: ggml_backend_reg_name($0)) } ?? "")
        }
    }

    /// The GPUs `serve` offloads to: every GPU among `devices` when this build can offload
    /// and `gpuLayers` is not 0, else none (the model runs on the CPU).
    public static func servingGPUs(gpuLayers: Int, among devices: [EngineDevice]) -> [EngineDevice] {
        guard LlamaModel.supportsGPUOffload, gpuLayers != 0 else { return [] }
        return devices.filter { $0.kind == .gpu || $0.kind == .integratedGPU }
    }
}
