/// The rows that publish the prefix cache's KV events for cache-aware routers, as vLLM's
/// `--kv-events-config` does (`KVEventSettings`).
extension ServeSetting {
    /// `NIM_KV_EVENTS_ENDPOINT`.
    public static let kvEventsEndpoint = ServeSetting(
        "NIM_KV_EVENTS_ENDPOINT", flag: "kv-events-endpoint", default: "none",
        "The address a ZeroMQ PUB socket binds to publish KV events in vLLM's format (tcp://*:5557, tcp://127.0.0.1:5557, ipc://…); none publishes nothing. The events carry prompts' token ids: let only the router reach it")
    /// `NIM_KV_EVENTS_TOPIC`.
    public static let kvEventsTopic = ServeSetting(
        "NIM_KV_EVENTS_TOPIC", flag: "kv-events-topic", default: "auto",
        "The topic of every event message; auto is llm-d's kv@<pod>@<model>, the pod being $POD_IP where set (llm-d's scorer knows pods by IP), else $HOSTNAME, and the model the served name")
    /// `NIM_KV_EVENTS_REPLAY_ENDPOINT`.
    public static let kvEventsReplayEndpoint = ServeSetting(
        "NIM_KV_EVENTS_REPLAY_ENDPOINT", flag: "kv-events-replay-endpoint", default: "none",
        "The address a ZeroMQ ROUTER binds to replay recent event batches from a sequence number to a subscriber that missed some; none serves no replay")
    /// `NIM_KV_EVENTS_BUFFER_STEPS`.
    public static let kvEventsBufferSteps = ServeSetting(
        "NIM_KV_EVENTS_BUFFER_STEPS", flag: "kv-events-buffer-steps", default: "10000", bounds: 1...1_000_000,
        "Event batches (one per engine step that changed the cache) kept for replay")

    /// The KV-event rows, in `--help` order.
    static let kvEvents: [ServeSetting] = [kvEventsEndpoint, kvEventsTopic, kvEventsReplayEndpoint, kvEventsBufferSteps]
}
