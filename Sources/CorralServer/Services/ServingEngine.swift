public import CorralCore
public import Scheduler

/// The loaded model and the scheduler running it: what the routes serve from.
public final class ServingEngine: Sendable {
    /// The model (tokenizer, template, metadata).
    public let model: any ServedModel
    /// The continuous-batching scheduler over the model's context.
    public let scheduler: BatchScheduler
    /// The model's name in the API.
    public let servedName: String
    /// How the KV cache was sized.
    public let kvSizing: KVSizing
    /// The engine's CPU threads and why.
    public let threads: CPUBudget?
    /// Which engine runs the model.
    public let identity: EngineIdentity
    /// What the model serves: generation, embeddings, or both.
    public let serves: Serves
    /// The LoRA adapters served beside the base model (none without `NIM_PEFT_SOURCE`).
    public let adapters: AdapterRegistry
    /// How the model spreads over devices, and why.
    public let parallel: ParallelLayout
    /// Each device's part of the model (`/v1/metadata`'s `devices`).
    public let placement: [DevicePlacement]
    /// Where the prefix cache's KV events go, when `NIM_KV_EVENTS_ENDPOINT` is set.
    public let kvEvents: (any KVEventSink)?

    /// The endpoint groups a loaded model answers.
    public struct Serves: Sendable, Equatable {
        /// Chat, completions and responses (not for an embedding model).
        public var generation: Bool
        /// `/v1/embeddings` and how its vectors are pooled; `nil` when not served.
        public var embeddings: EmbeddingPooling?

        /// Creates a value.
        public init(generation: Bool = true, embeddings: EmbeddingPooling? = nil) {
            self.generation = generation
            self.embeddings = embeddings
        }

        /// What `/v1/models` and `/v1/metadata` list: `generation`, `embeddings`.
        public var names: [String] {
            (generation ? ["generation"] : []) + (embeddings != nil ? ["embeddings"] : [])
        }
    }

    /// Wraps an already running scheduler (tests use this with any executor).
    /// - Parameter lora: where adapters come from; the scheduler loads them into its executor.
    public init(model: any ServedModel, scheduler: BatchScheduler, servedName: String, kvSizing: KVSizing? = nil,
                threads: CPUBudget? = nil, identity: EngineIdentity = .unknown, serves: Serves = Serves(),
                lora: LoRASettings = LoRASettings(), parallel: ParallelLayout = .cpu, placement: [DevicePlacement] = [],
                kvEvents: (any KVEventSink)? = nil) {
        let adapters = AdapterRegistry(settings: lora, baseName: servedName, engine: AdapterRegistry.Engine(
            load: { path, maxRank in try await scheduler.loadAdapter(path: path, maxRank: maxRank) },
            retire: { scheduler.retireAdapter($0) }))
        self.adapters = adapters
        self.kvEvents = kvEvents
        kvEvents?.nameAdapters { adapters.name(of: $0) }
        self.model = model
        self.parallel = parallel
        self.placement = placement
        self.serves = serves
        self.identity = identity
        self.threads = threads
        self.scheduler = scheduler
        self.servedName = servedName
        self.kvSizing = kvSizing ?? .fixed(scheduler.snapshot.kvCapacity, model: model)
    }

    /// Runs one tiny generation (or, for an embedding model, one embedding) so the first
    /// real request does not pay for lazy setup.
    public func warmUp() async throws {
        let prompt = try model.tokenize("Hello", addSpecial: true, parseSpecial: false)
        var request = GenerationRequest(prompt: prompt, maxTokens: 1, sampling: .greedy)
        request.embedding = !serves.generation
        let stream = try scheduler.submit(request)
        for await event in stream {
            if case .failed(let error) = event { throw error }
        }
    }
}

/// Which engine a server runs, for `/v1/version` and `/v1/metadata`.
public struct EngineIdentity: Sendable, Equatable {
    /// Its name and version.
    public var version: String
    /// Whether it can offload layers to a GPU.
    public var gpuOffload: Bool

    /// Creates a value.
    public init(version: String, gpuOffload: Bool) {
        self.version = version
        self.gpuOffload = gpuOffload
    }

    /// For tests that run no engine.
    public static let unknown = EngineIdentity(version: "unknown", gpuOffload: false)
}
