import ArgumentParser
import CorralServer

/// The flags that spread a model over devices, shared by `serve` and `list-model-profiles`
/// (each a row of the settings table, `ServeSetting.parallel`).
struct ParallelOptions: ParsableArguments {
    @Option(name: .customLong(ServeSetting.splitMode.flag), help: ArgumentHelp(ServeSetting.splitMode.help))
    var splitMode: String?
    @Option(name: .customLong(ServeSetting.tensorSplit.flag), help: ArgumentHelp(ServeSetting.tensorSplit.help))
    var tensorSplit: String?
    @Option(name: .customLong(ServeSetting.devices.flag), help: ArgumentHelp(ServeSetting.devices.help))
    var devices: String?
    @Option(name: .customLong(ServeSetting.rpcServers.flag), help: ArgumentHelp(ServeSetting.rpcServers.help))
    var rpc: String?
    @Option(name: .customLong(ServeSetting.rpcWaitSeconds.flag), help: ArgumentHelp(ServeSetting.rpcWaitSeconds.help))
    var rpcWaitSeconds: Int?
    @Option(name: .customLong(ServeSetting.tensorParallelSize.flag), help: ArgumentHelp(ServeSetting.tensorParallelSize.help))
    var tensorParallelSize: Int?
    @Option(name: .customLong(ServeSetting.pipelineParallelSize.flag), help: ArgumentHelp(ServeSetting.pipelineParallelSize.help))
    var pipelineParallelSize: Int?
    @Option(name: .customLong(ServeSetting.modelProfile.flag), help: ArgumentHelp(ServeSetting.modelProfile.help))
    var profile: String?

    /// The settings in force: flags over `NIM_*` variables. A profile sets the two sizes,
    /// and a size set beside it must agree with it.
    func settings() throws(ServerConfig.Invalid) -> ParallelSettings {
        typealias E = Environment
        var s = ParallelSettings()
        s.splitMode = try E.choice(E.string(.splitMode, flag: splitMode) ?? "auto", as: ParallelSettings.Choice.self, setting: .splitMode)
        s.tensorSplit = try ParallelSettings.shares(E.string(.tensorSplit, flag: tensorSplit))
        s.devices = ParallelSettings.list(E.string(.devices, flag: devices))
        s.rpcServers = ParallelSettings.list(E.string(.rpcServers, flag: rpc))
        s.rpcWaitSeconds = try E.int(.rpcWaitSeconds, flag: rpcWaitSeconds, default: 0)
        s.tensorParallel = try E.int(.tensorParallelSize, flag: tensorParallelSize)
        s.pipelineParallel = try E.int(.pipelineParallelSize, flag: pipelineParallelSize)
        if let name = E.string(.modelProfile, flag: profile) {
            let sizes = try ParallelSettings.profileSizes(name)
            for (asked, size, setting) in [(s.tensorParallel, sizes.tp, ServeSetting.tensorParallelSize),
                                           (s.pipelineParallel, sizes.pp, ServeSetting.pipelineParallelSize)] {
                if let asked, asked != size {
                    throw .init(description: "NIM_MODEL_PROFILE=\(name) means \(setting.name)=\(size), but \(setting.name)=\(asked) is set")
                }
            }
            s.profile = name
            s.tensorParallel = sizes.tp
            s.pipelineParallel = sizes.pp
        }
        return s
    }
}
