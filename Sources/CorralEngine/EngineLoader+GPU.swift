import LlamaEngine

extension EngineLoader {
    /// What `serve` makes of a GPU engine that sees no GPU. The CUDA image runs where the
    /// NVIDIA driver is mounted (`docker run --gpus all`, a GPU node's runtime class); without
    /// it, CUDA finds no device and the engine would silently run every layer on the CPU, many
    /// times slower. So a GPU engine with no device refuses to serve unless
    /// `NIM_GPU_LAYERS=0` asks for the CPU, and then says that it serves on the CPU.
    public enum GPUVisibility: Equatable, Sendable {
        /// A GPU is visible, or the engine is a CPU build: nothing to say.
        case fine
        /// No GPU is visible and layers are to be offloaded: stop, with this message.
        case refuse(String)
        /// No GPU is visible and `NIM_GPU_LAYERS=0`: serve on the CPU, saying so.
        case cpuAsAsked(String)
    }

    /// Checks the engine's GPU backends against `gpuLayers` (`NIM_GPU_LAYERS`).
    public static func gpuVisibility(gpuLayers: Int) -> GPUVisibility {
        gpuVisibility(backendsWithoutDevices: EngineDevice.gpuBackendsWithoutDevices(), gpuLayers: gpuLayers)
    }

    /// The decision alone, for tests: `backends` are the GPU backends that found no device.
    public static func gpuVisibility(backendsWithoutDevices backends: [String], gpuLayers: Int) -> GPUVisibility {
        guard !backends.isEmpty else { return .fine }
        let names = backends.joined(separator: ", ")
        let what = "no GPU is visible: this engine is built for \(names), but \(names) finds no device"
        if gpuLayers == 0 {
            return .cpuAsAsked("\(what); serving on the CPU, as NIM_GPU_LAYERS=0 asks")
        }
        return .refuse("\(what) (no GPU on this machine, or the container runs without the NVIDIA driver: "
            + "docker run --gpus all, or a GPU node). NIM_GPU_LAYERS=0 (--gpu-layers 0) serves on the CPU instead.")
    }
}
