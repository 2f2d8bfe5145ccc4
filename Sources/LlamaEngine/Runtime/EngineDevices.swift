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

    /// The GPU backends compiled into this engine build that found no device, e.g. `["CUDA"]`
    /// for the CUDA engine on a machine without a GPU, or in a container the NVIDIA driver
    /// was not mounted into. ggml then registers the backend with no devices, and every layer
    /// runs on the CPU. Empty for the CPU engine, and wherever a GPU is visible.
    public static func gpuBackendsWithoutDevices() -> [String] {
        EngineLog.install()
        return (0..<ggml_backend_reg_count()).compactMap { index in
            guard let reg = ggml_backend_reg_get(index) else { return nil }
            let name = String(cString: ggml_backend_reg_name(reg))
            return gpuBackendNames.contains(name) && ggml_backend_reg_dev_count(reg) == 0 ? name : nil
        }
    }

    /// The registry names of ggml's GPU backends (CUDA's build also names itself ROCm or MUSA).
    static let gpuBackendNames: Set<String> = ["CUDA", "ROCm", "MUSA", "Vulkan", "MTL", "SYCL", "CANN", "OpenCL"]
}
