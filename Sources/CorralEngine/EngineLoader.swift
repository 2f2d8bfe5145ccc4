public import CorralServer
import CorralCore
import Foundation
import LlamaEngine
public import Scheduler

/// Builds a serving engine on llama.cpp: resolves and loads the model, sizes the KV cache,
/// creates the context and the executor, and starts the scheduler. The HTTP layer only
/// sees the result, through `ServedModel` and `BatchScheduler`.
public enum EngineLoader {
    /// The engine this binary links.
    public static let identity = EngineIdentity(version: LlamaModel.engineVersion, gpuOffload: LlamaModel.supportsGPUOffload)

    /// Resolves, loads and starts the model described by `config`. Blocking: it runs on a
    /// thread of its own so the cooperative pool stays free while weights load.
    /// - Parameters:
    ///   - observer: receives the scheduler's metric events.
    ///   - progress: called as the weights load, with the share done (0 to 1).
    public static func load(_ config: ServerConfig, observer: (any SchedulerObserver)? = nil,
                            progress: (@Sendable (Double) -> Void)? = nil) async throws -> ServingEngine {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try loadBlocking(config, observer: observer, progress: progress) })
            }
        }
    }

    /// The GGUF file `config.model` names: a path, or a model in the cache.
    public static func locate(_ config: ServerConfig) throws -> String {
        try ModelLocator.resolve(config.model, cacheDirectory: config.cachePath)
    }

    private static func loadBlocking(_ config: ServerConfig, observer: (any SchedulerObserver)?,
                                     progress: (@Sendable (Double) -> Void)?) throws -> ServingEngine {
        let path = try locate(config)
        let template = try config.chatTemplateFile.map { file in
            do { return try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ServerConfig.Invalid(description: "NIM_CHAT_TEMPLATE_FILE=\(file) cannot be read")
            }
        }
        let choice = try chooseLayout(config, path: path)
        var options = LlamaModel.Options(gpuLayers: Int32(config.gpuLayers), chatTemplate: template, onProgress: progress)
        apply(choice.layout, to: &options)
        let model = try LlamaModel(path: path, options: options)
        let isDeci = model.metadata.architecture == "deci"
        // Unified: sequence ids past the running ones hold cached prefixes and the shared
        // prompts of n > 1 choices (llama.cpp allows 256 ids in all). Partitioned: one
        // partition per running sequence, attention over its own cells only.
        let memory = KVSizing.Memory.measure(model: model, layout: choice.layout, gpuLayers: config.gpuLayers)
        let unified = config.unifiedKV
        var sizing = try KVSizing.plan(config, memory: memory, bytesPerToken: model.metadata.kvElementsPerToken * 2,
                                       trainedContext: model.metadata.trainingContextLength)
        let layers = model.metadata.layerCount
        sizing.offloadedLayers = memory.onGPU ? (config.gpuLayers < 0 ? layers : min(config.gpuLayers, layers)) : 0
        let placement = choice.layout.placement(choice.shape, gpuLayers: config.gpuLayers, kvCells: sizing.tokens,
                                                batchTokens: sizing.maxBatchTokens, cpu: choice.cpu)
        if choice.layout.mode != .none, let overflow = ParallelLayout.overflow(placement, devices: choice.layout.devices,
                                                                              memoryShare: config.gpuMemoryUtilization) {
            throw ServerConfig.Invalid(description: overflow)
        }
        // llama.cpp's tensor split refuses backend sampling; elsewhere it pays where the
        // logits come from a local GPU.
        let outputOnGPU = choice.layout.mode != .tensor && placement.contains { $0.output && $0.kind == "gpu" }
        let running = sizing.maxNumSeqs
        let threads = CPUBudget.resolve(configured: config.threads)
        let serves = servedEndpoints(config, model.metadata)
        let context = try LlamaContext(model: model, options: .init(
            contextLength: sizing.tokens, batchCapacity: sizing.maxBatchTokens,
            maxSequences: unified ? min(running * 2, max(running, 256)) : running, threads: threads.threads,
            // deci: without flash attention llama.cpp pads V to the widest layer; tensor
            // split needs it.
            flashAttention: isDeci || choice.layout.mode == .tensor ? true : nil, unifiedKV: unified, pooling: serves.embeddings))
        var schedulerConfig = SchedulerConfig(maxBatchTokens: sizing.maxBatchTokens,
                                    maxRunningSequences: running,
                                    maxWaitingRequests: config.maxWaitingRequests,
                                    maxWaitingTokens: config.maxWaitingTokens,
                                    maxModelLength: sizing.maxModelLen,
                                    policy: config.policy,
                                    prefixCaching: config.prefixCaching,
                                    hostCacheBytes: unified ? 0 : hostCacheBytes(config))
        // On a CPU a step's cost grows with every token, so prompts computed one per step
        // get their first tokens sooner than prompts computed together; a GPU batches
        // them almost for free.
        schedulerConfig.serialPrefill = !memory.onGPU
        schedulerConfig.speculation = config.speculation
        schedulerConfig.maxLoras = config.lora.maxActive
        let kvEvents = try kvEventPublisher(config)
        let scheduler = BatchScheduler(
            executor: LlamaExecutor(context: context, samplingThreads: threads.threads,
                                    deviceSampling: deviceSampling(outputOnGPU: outputOnGPU)),
            config: schedulerConfig,
            observer: observer,
            proposer: try draftModel(config, target: model, maxModelLen: sizing.maxModelLen, threads: threads.threads,
                                     device: choice.layout.devices.first),
            kvEvents: kvEvents)
        scheduler.start()
        return ServingEngine(model: model, scheduler: scheduler, servedName: config.servedName, kvSizing: sizing,
                             threads: threads, identity: identity, serves: serves, lora: config.lora,
                             parallel: choice.layout, placement: placement, kvEvents: kvEvents)
    }

    /// An embedding model (its GGUF names a pooling) serves embeddings only, pooled its own
    /// way; a generation model serves generation, and embeddings too with
    /// `NIM_ENABLE_EMBEDDINGS`, pooled by `NIM_EMBEDDING_POOLING`.
    static func servedEndpoints(_ config: ServerConfig, _ metadata: ModelMetadata) -> ServingEngine.Serves {
        if metadata.isEmbeddingModel { return .init(generation: false, embeddings: metadata.pooling) }
        return .init(generation: true, embeddings: config.enableEmbeddings ? config.embeddingPooling : nil)
    }

    /// The draft model for `NIM_SPECULATIVE_METHOD=draft`, on a context of its own holding
    /// as many sequences as may draft at once (`NIM_SPECULATIVE_DISABLE_BY_BATCH_SIZE`),
    /// each up to `maxModelLen` tokens but at most 8192 (a longer sequence drafts nothing).
    /// The draft sits on one device, the target's first (not spread over RPC workers).
    static func draftModel(_ config: ServerConfig, target: LlamaModel, maxModelLen: Int,
                           threads: Int, device: ParallelLayout.Device? = nil) throws -> LlamaDraftModel? {
        guard config.speculation.method == .draft, let name = config.draftModel else { return nil }
        let path: String
        do { path = try ModelLocator.resolve(name, cacheDirectory: config.cachePath) } catch {
            throw ServerConfig.Invalid(description: "NIM_SPECULATIVE_DRAFT_MODEL=\(name): \(error)")
        }
        var options = LlamaModel.Options(gpuLayers: Int32(config.gpuLayers))
        if let device { apply(ParallelLayout(mode: .none, devices: [device], reason: "draft"), to: &options) }
        let model = try LlamaModel(path: path, options: options)
        let sequences = max(1, min(config.speculation.disableByBatchSize, config.maxRunningSequences ?? 256))
        let context = try LlamaContext(model: model, options: .init(
            contextLength: sequences * min(maxModelLen, 8192), batchCapacity: 512, maxSequences: sequences,
            threads: threads, unifiedKV: false))
        do { return try LlamaDraftModel(context: context, target: target) } catch {
            throw ServerConfig.Invalid(description: "NIM_SPECULATIVE_DRAFT_MODEL=\(name): \(error)")
        }
    }

    /// The KV-event publisher `NIM_KV_EVENTS_ENDPOINT` asks for, its sockets bound; an
    /// endpoint that cannot be bound (or a missing libzmq) stops the start, naming it.
    static func kvEventPublisher(_ config: ServerConfig) throws -> KVEventPublisher? {
        guard let endpoint = config.kvEvents.endpoint else { return nil }
        let options = KVEventPublisher.Options(endpoint: endpoint, replayEndpoint: config.kvEvents.replayEndpoint,
                                               topic: config.kvEvents.topic(servedName: config.servedName),
                                               replayBatches: config.kvEvents.bufferSteps)
        do { return try KVEventPublisher(options) } catch {
            throw ServerConfig.Invalid(description: "NIM_KV_EVENTS_ENDPOINT=\(endpoint): \(error)")
        }
    }

    /// The host tier's budget: `NIM_KV_CACHE_HOST_MEM_MIB`, at most a quarter of the memory
    /// available now (the cgroup's limit first), so the default cannot push a small pod
    /// out of memory. (The unified layout has no host tier.)
    static func hostCacheBytes(_ config: ServerConfig) -> Int {
        guard config.prefixCaching else { return 0 }
        return min(config.hostCacheMiB << 20, HostMemory.available().bytes / 4)
    }
}
