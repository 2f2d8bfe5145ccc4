/// The rows that spread one model over several devices: local GPUs, and the devices of
/// other machines through llama.cpp's RPC backend (`ParallelLayout` decides from them).
extension ServeSetting {
    /// `NIM_SPLIT_MODE`.
    public static let splitMode = ServeSetting(
        "NIM_SPLIT_MODE", flag: "split-mode", default: ParallelSettings.Choice.auto.rawValue,
        "How the model spreads over devices: none (one device), layer (contiguous layers per device: pipeline parallel), tensor (every layer over all devices: tensor parallel), or auto (one device when the model fits one, else tensor where the model and settings allow it, else layer)")
    /// `NIM_TENSOR_SPLIT`.
    public static let tensorSplit = ServeSetting(
        "NIM_TENSOR_SPLIT", flag: "tensor-split", default: "auto",
        "Each device's share, comma-separated in device order (llama-server's --tensor-split 3,1); auto splits by free memory")
    /// `NIM_DEVICES`.
    public static let devices = ServeSetting(
        "NIM_DEVICES", flag: "devices", default: "auto",
        "Devices to use, comma-separated engine names in order (CUDA0,CUDA1, RPC0); auto is every GPU and RPC device, RPC first")
    /// `NIM_RPC_SERVERS`.
    public static let rpcServers = ServeSetting(
        "NIM_RPC_SERVERS", flag: "rpc", default: "none",
        "host:port of `corral rpc-server` workers, comma-separated, whose devices join this server's (experimental; the protocol is unauthenticated, so keep the port inside the pod network)")
    /// `NIM_RPC_WAIT_SECONDS`.
    public static let rpcWaitSeconds = ServeSetting(
        "NIM_RPC_WAIT_SECONDS", flag: "rpc-wait-seconds", default: "0", bounds: 0...3600,
        "Seconds to keep trying an RPC worker that does not answer yet at startup (workers of a LeaderWorkerSet start beside their leader); 0 tries once")
    /// `NIM_TENSOR_PARALLEL_SIZE`.
    public static let tensorParallelSize = ServeSetting(
        "NIM_TENSOR_PARALLEL_SIZE", flag: "tensor-parallel-size", default: "auto", bounds: 1...64,
        "Devices to split every layer over (tensor split); more than 1 asks for NIM_SPLIT_MODE=tensor")
    /// `NIM_PIPELINE_PARALLEL_SIZE`.
    public static let pipelineParallelSize = ServeSetting(
        "NIM_PIPELINE_PARALLEL_SIZE", flag: "pipeline-parallel-size", default: "auto", bounds: 1...64,
        "Devices to split the layers over (layer split); more than 1 asks for NIM_SPLIT_MODE=layer")
    /// `NIM_MODEL_PROFILE`.
    public static let modelProfile = ServeSetting(
        "NIM_MODEL_PROFILE", flag: "profile", default: "auto",
        "A profile from `corral list-model-profiles` (llamacpp-cuda-tp2-pp1): sets the tensor and pipeline parallel sizes it names")

    /// The parallel rows, in `--help` order.
    static let parallel: [ServeSetting] = [
        splitMode, tensorSplit, devices, rpcServers, rpcWaitSeconds, tensorParallelSize, pipelineParallelSize, modelProfile,
    ]
}
