import Foundation
import CorralCore
public import LlamaEngine
public import Scheduler

/// The loaded model and the scheduler running it: what the routes serve from.
public final class ServingEngine: Sendable {
    /// The model (tokenizer, template, metadata).
    public let model: LlamaModel
    /// The continuous-batching scheduler over the model's context.
    public let scheduler: BatchScheduler
    /// The model's name in the API.
    public let servedName: String
    /// How the KV cache was sized.
    public let kvSizing: KVSizing
    /// The engine's CPU threads and why.
    public let threads: CPUBudget?

    /// Wraps an already running scheduler (tests use this with any executor).
    public init(model: LlamaModel, scheduler: BatchScheduler, servedName: String, kvSizing: KVSizing? = nil,
                threads: CPUBudget? = nil) {
        self.model = model
        self.threads = threads
        self.scheduler = scheduler
        self.servedName = servedName
        self.kvSizing = kvSizing ?? .fixed(scheduler.snapshot.kvCapacity, model: model)
    }

    /// Resolves, loads and starts the model described by `config`. Blocking: it runs on a
    /// thread of its own so the cooperative pool stays free while weights load.
    /// - Parameter observer: receives the scheduler's metric events.
    public static func load(_ config: ServerConfig, observer: (any SchedulerObserver)? = nil) async throws -> ServingEngine {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try loadBlocking(config, observer: observer) })
            }
        }
    }

    private static func loadBlocking(_ config: ServerConfig, observer: (any SchedulerObserver)?) throws -> ServingEngine {
        let path = try ModelLocator.resolve(config.model, cacheDirectory: config.cachePath)
        let model = try LlamaModel(path: path, options: .init(gpuLayers: Int32(config.gpuLayers)))
        let isDeci = model.metadata.architecture == "deci"
        // Unified: sequence ids past the running ones hold cached prefixes and the shared
        // prompts of n > 1 choices (llama.cpp allows 256 ids in all). Partitioned: one
        // partition per running sequence, attention over its own cells only.
        let unified = config.unifiedKV
        let running = config.maxRunningSequences
        let sizing = try config.kvCachePercent.map {
            try KVSizing.percent($0, model: model, gpuLayers: config.gpuLayers, sequences: config.maxRunningSequences)
        } ?? .fixed(config.kvCapacity, model: model)
        let threads = CPUBudget.resolve(configured: config.threads)
        let context = try LlamaContext(model: model, options: .init(
            contextLength: sizing.tokens, batchCapacity: config.maxBatchTokens,
            maxSequences: unified ? min(running * 2, max(running, 256)) : running, threads: threads.threads,
            // deci: without flash attention llama.cpp pads V to the widest layer.
            flashAttention: isDeci ? true : nil, unifiedKV: unified))
        let scheduler = BatchScheduler(
            executor: LlamaExecutor(context: context, samplingThreads: threads.threads),
            config: SchedulerConfig(maxBatchTokens: config.maxBatchTokens,
                                    maxRunningSequences: config.maxRunningSequences,
                                    maxWaitingRequests: config.maxWaitingRequests,
                                    maxWaitingTokens: config.maxWaitingTokens,
                                    maxModelLength: config.maxModelLength,
                                    policy: config.policy,
                                    prefixCaching: config.prefixCaching),
            observer: observer)
        scheduler.start()
        return ServingEngine(model: model, scheduler: scheduler, servedName: config.servedName, kvSizing: sizing,
                             threads: threads)
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
