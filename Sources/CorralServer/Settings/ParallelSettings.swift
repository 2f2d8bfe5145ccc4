import Foundation

/// What the operator asked for about devices (`NIM_SPLIT_MODE` and its rows), before
/// `ParallelLayout.choose` meets it with the model and the devices the engine sees.
public struct ParallelSettings: Sendable, Equatable {
    /// `NIM_SPLIT_MODE`.
    public enum Choice: String, Sendable, CaseIterable {
        /// One device when the model fits one, else tensor where allowed, else layer.
        case auto
        /// The first device holds everything.
        case none
        /// Contiguous layers per device (pipeline parallel).
        case layer
        /// Every layer over all devices (tensor parallel).
        case tensor
    }

    /// `NIM_SPLIT_MODE`.
    public var splitMode: Choice = .auto
    /// `NIM_TENSOR_SPLIT`: shares in device order; empty splits by free memory.
    public var tensorSplit: [Double] = []
    /// `NIM_DEVICES`: engine device names; empty is every GPU and RPC device.
    public var devices: [String] = []
    /// `NIM_RPC_SERVERS`: `host:port` of each worker.
    public var rpcServers: [String] = []
    /// `NIM_RPC_WAIT_SECONDS`: how long a worker that does not answer yet is retried.
    public var rpcWaitSeconds = 0
    /// `NIM_TENSOR_PARALLEL_SIZE`, when set.
    public var tensorParallel: Int?
    /// `NIM_PIPELINE_PARALLEL_SIZE`, when set.
    public var pipelineParallel: Int?
    /// `NIM_MODEL_PROFILE`, when set (its sizes are already in the two above).
    public var profile: String?

    /// Creates settings; the defaults are `auto` throughout.
    public init(splitMode: Choice = .auto, tensorSplit: [Double] = [], devices: [String] = [], rpcServers: [String] = [],
                tensorParallel: Int? = nil, pipelineParallel: Int? = nil, profile: String? = nil) {
        self.splitMode = splitMode
        self.tensorSplit = tensorSplit
        self.devices = devices
        self.rpcServers = rpcServers
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        self.profile = profile
    }

    /// A comma-separated list, blanks dropped.
    public static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `NIM_TENSOR_SPLIT`'s shares: non-negative numbers, at least one above 0.
    public static func shares(_ text: String?) throws(ServerConfig.Invalid) -> [Double] {
        let parts = list(text)
        var shares: [Double] = []
        for part in parts {
            guard let value = Double(part), value >= 0, value.isFinite else {
                throw .init(description: "NIM_TENSOR_SPLIT=\(text ?? "") (--tensor-split) must be non-negative numbers, comma-separated (3,1)")
            }
            shares.append(value)
        }
        if !shares.isEmpty, shares.allSatisfy({ $0 == 0 }) {
            throw .init(description: "NIM_TENSOR_SPLIT=\(text ?? "") (--tensor-split) gives every device a share of 0")
        }
        return shares
    }

    /// The sizes a profile name carries (`…-tp2-pp1`), or an error naming the profile.
    public static func profileSizes(_ name: String) throws(ServerConfig.Invalid) -> (tp: Int, pp: Int) {
        let parts = name.split(separator: "-")
        guard parts.count >= 3, parts[0] == "llamacpp",
              let tp = parts.last(where: { $0.hasPrefix("tp") }).flatMap({ Int($0.dropFirst(2)) }),
              let pp = parts.last(where: { $0.hasPrefix("pp") }).flatMap({ Int($0.dropFirst(2)) }), tp >= 1, pp >= 1 else {
            throw .init(description: "NIM_MODEL_PROFILE=\(name) (--profile) is not a profile of this server: "
                        + "`corral list-model-profiles` lists them (llamacpp-<backend>-tp<N>-pp<M>)")
        }
        return (tp, pp)
    }

    /// Every value by its setting, as `/v1/metadata`'s `settings` writes them.
    var values: [ServeSetting: String] {
        typealias S = ServeSetting
        func join(_ items: [String]) -> String? { items.isEmpty ? nil : items.joined(separator: ",") }
        return [
            S.splitMode: splitMode.rawValue,
            S.tensorSplit: join(tensorSplit.map { ServeSetting.format($0) }) ?? "auto",
            S.devices: join(devices) ?? "auto", S.rpcServers: join(rpcServers) ?? "none",
            S.rpcWaitSeconds: "\(rpcWaitSeconds)",
            S.tensorParallelSize: tensorParallel.map { "\($0)" } ?? "auto",
            S.pipelineParallelSize: pipelineParallel.map { "\($0)" } ?? "auto",
            S.modelProfile: profile ?? "auto",
        ]
    }
}
