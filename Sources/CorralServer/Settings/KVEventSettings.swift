import Foundation

/// Where the prefix cache's KV events go (`NIM_KV_EVENTS_*`): off unless an endpoint is
/// set. The engine assembly opens the publisher from them.
public struct KVEventSettings: Sendable, Equatable {
    /// `NIM_KV_EVENTS_ENDPOINT`: the PUB socket's address, or nil for no events.
    public var endpoint: String?
    /// `NIM_KV_EVENTS_TOPIC`, or nil for llm-d's `kv@<pod>@<model>`.
    public var topic: String?
    /// `NIM_KV_EVENTS_REPLAY_ENDPOINT`: the replay ROUTER's address, or nil.
    public var replayEndpoint: String?
    /// `NIM_KV_EVENTS_BUFFER_STEPS`: batches kept for replay.
    public var bufferSteps = 10_000

    /// Creates settings; the defaults publish nothing.
    public init(endpoint: String? = nil, topic: String? = nil, replayEndpoint: String? = nil, bufferSteps: Int = 10_000) {
        self.endpoint = endpoint
        self.topic = topic
        self.replayEndpoint = replayEndpoint
        self.bufferSteps = bufferSteps
    }

    /// The topic in force for a server of `servedName`: the one set, else
    /// `kv@<pod>@<servedName>`, the pod being `$POD_IP` where set (llm-d's precise scorer
    /// knows a pod by its IP), else `$HOSTNAME` (the pod's name in Kubernetes).
    public func topic(servedName: String) -> String {
        let info = ProcessInfo.processInfo
        let pod = info.environment["POD_IP"] ?? info.environment["HOSTNAME"] ?? info.hostName
        return topic ?? "kv@\(pod)@\(servedName)"
    }

    /// An address a ZeroMQ socket can bind: `tcp://host:port` (host may be `*`) or `ipc://path`.
    public static func endpoint(_ text: String?, setting: ServeSetting) throws(ServerConfig.Invalid) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty, text != "none" else { return nil }
        if text.hasPrefix("ipc://"), text.count > 6 { return text }
        if text.hasPrefix("tcp://"), let colon = text.lastIndex(of: ":"), colon > text.index(text.startIndex, offsetBy: 6),
           let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) {
            return text
        }
        throw .init(description: "\(setting.name)=\(text) (--\(setting.flag)) must be tcp://host:port (host may be *) or ipc://path")
    }

    /// Every value by its setting, as `/v1/metadata`'s `settings` writes them.
    var values: [ServeSetting: String] {
        [ServeSetting.kvEventsEndpoint: endpoint ?? "none", ServeSetting.kvEventsTopic: topic ?? "auto",
         ServeSetting.kvEventsReplayEndpoint: replayEndpoint ?? "none", ServeSetting.kvEventsBufferSteps: "\(bufferSteps)"]
    }
}
