import ArgumentParser
import CorralServer

/// The flags that publish KV events (each a row of the settings table, `ServeSetting.kvEvents`).
struct KVEventOptions: ParsableArguments {
    @Option(name: .customLong(ServeSetting.kvEventsEndpoint.flag), help: ArgumentHelp(ServeSetting.kvEventsEndpoint.help))
    var kvEventsEndpoint: String?
    @Option(name: .customLong(ServeSetting.kvEventsTopic.flag), help: ArgumentHelp(ServeSetting.kvEventsTopic.help))
    var kvEventsTopic: String?
    @Option(name: .customLong(ServeSetting.kvEventsReplayEndpoint.flag), help: ArgumentHelp(ServeSetting.kvEventsReplayEndpoint.help))
    var kvEventsReplayEndpoint: String?
    @Option(name: .customLong(ServeSetting.kvEventsBufferSteps.flag), help: ArgumentHelp(ServeSetting.kvEventsBufferSteps.help))
    var kvEventsBufferSteps: Int?

    /// The settings in force: flags over `NIM_*` variables.
    func settings() throws(ServerConfig.Invalid) -> KVEventSettings {
        typealias E = Environment
        var s = KVEventSettings()
        s.endpoint = try KVEventSettings.endpoint(E.string(.kvEventsEndpoint, flag: kvEventsEndpoint), setting: .kvEventsEndpoint)
        s.replayEndpoint = try KVEventSettings.endpoint(E.string(.kvEventsReplayEndpoint, flag: kvEventsReplayEndpoint),
                                                        setting: .kvEventsReplayEndpoint)
        s.topic = E.string(.kvEventsTopic, flag: kvEventsTopic).flatMap { $0 == "auto" ? nil : $0 }
        s.bufferSteps = try E.int(.kvEventsBufferSteps, flag: kvEventsBufferSteps, default: 10_000)
        if s.replayEndpoint != nil && s.endpoint == nil {
            throw .init(description: "NIM_KV_EVENTS_REPLAY_ENDPOINT is set but NIM_KV_EVENTS_ENDPOINT is not: replay needs events")
        }
        return s
    }
}
