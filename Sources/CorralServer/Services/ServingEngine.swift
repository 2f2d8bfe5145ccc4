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

    /// Wraps an already running scheduler (tests use this with any executor).
    public init(model: any ServedModel, scheduler: BatchScheduler, servedName: String, kvSizing: KVSizing? = nil,
                threads: CPUBudget? = nil, identity: EngineIdentity = .unknown) {
        self.model = model
        self.identity = identity
        self.threads = threads
        self.scheduler = scheduler
        self.servedName = servedName
        self.kvSizing = kvSizing ?? .fixed(scheduler.snapshot.kvCapacity, model: model)
    }

    /// Runs one tiny generation so the first real request does not pay for lazy setup.
    public func warmUp() async throws {
        let prompt = try model.tokenize("Hello", addSpecial: true, parseSpecial: false)
        let stream = try scheduler.submit(GenerationRequest(prompt: prompt, maxTokens: 1, sampling: .greedy))
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
