import CorralCore
public import CorralServer
import LlamaEngine

extension EngineLoader {
    /// The devices the engine sees, in its own default order: RPC workers' devices first
    /// (llama.cpp puts them first "to minimize network transfers"), then local GPUs
    /// (integrated ones only without a discrete GPU), then the CPU.
    public static func visibleDevices() -> [ParallelLayout.Device] {
        let all = EngineDevice.all()
        func device(_ d: EngineDevice, _ kind: ParallelLayout.Device.Kind) -> ParallelLayout.Device {
            .init(name: d.name, description: d.description, kind: kind, freeBytes: d.freeBytes, totalBytes: d.totalBytes)
        }
        let rpc = all.filter { $0.backend.hasPrefix("RPC") }
        let gpus = all.filter { $0.kind == .gpu && !$0.backend.hasPrefix("RPC") }
        let igpus = gpus.isEmpty ? all.filter { $0.kind == .integratedGPU } : []
        return rpc.map { device($0, .rpc) } + (gpus + igpus).map { device($0, .gpu) }
            + all.filter { $0.kind == .cpu }.map { device($0, .cpu) }
    }

    /// What `chooseLayout` found: the layout, the model's shape and the devices it chose among.
    struct LayoutChoice {
        var layout: ParallelLayout
        var shape: ParallelShape
        var visible: [ParallelLayout.Device]

        /// The local CPU, for blocks that stay on it.
        var cpu: ParallelLayout.Device {
            visible.first { $0.kind == .cpu } ?? .init(name: "CPU", description: "CPU", kind: .cpu, freeBytes: 0, totalBytes: 0)
        }
    }

    /// Connects the RPC workers (probing each first: the engine aborts on one it cannot
    /// reach), reads the model's shape from its header and chooses the layout, all before
    /// any weight loads, so that a layout the engine would crash on is refused with its reason.
    static func chooseLayout(_ config: ServerConfig, path: String) throws -> LayoutChoice {
        do { try RPCBackend.add(config.parallel.rpcServers, patience: .seconds(config.parallel.rpcWaitSeconds)) } catch {
            throw ServerConfig.Invalid(description: "NIM_RPC_SERVERS (--rpc): \(error)")
        }
        let shape = try modelShape(path: path)
        let visible = visibleDevices()
        let layout = try ParallelLayout.choose(config.parallel, shape: shape, visible: visible, gpuLayers: config.gpuLayers,
                                               lora: config.lora.source != nil, memoryShare: config.gpuMemoryUtilization)
        if let profile = config.parallel.profile, profile != layout.profile {
            throw ServerConfig.Invalid(description: "NIM_MODEL_PROFILE=\(profile) is not a layout of the devices here: they give "
                                       + "\(layout.profile) (`corral list-model-profiles` lists what fits)")
        }
        return LayoutChoice(layout: layout, shape: shape, visible: visible)
    }

    /// What the layout decision needs of the GGUF at `path`, from its header alone.
    public static func modelShape(path: String) throws -> ParallelShape {
        let totals = try GGUFReader.tensorTotals(path: path)
        return ParallelShape(metadata: try GGUFReader.metadata(path: path), layerBytes: totals.layerBytes,
                             outputBytes: totals.outputBytes, weightBytes: totals.bytes)
    }

    /// `options` with the layout's split mode, devices and shares.
    static func apply(_ layout: ParallelLayout, to options: inout LlamaModel.Options) {
        options.split = LlamaModel.SplitMode(rawValue: layout.mode.rawValue) ?? .layer
        options.devices = layout.devices.map(\.name)
        options.tensorSplit = layout.shares.map { Float($0) }
    }
}
