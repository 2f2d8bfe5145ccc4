import Foundation
import Hummingbird
import CorralCore

/// `/v1/metadata`, `/tokenize` and `/detokenize`.
struct InfoRoutes: Sendable {
    let state: ModelState
    let config: ServerConfig

    struct Metadata: Encodable {
        var model: String
        var path: String
        var architecture: String
        var description: String
        var parameters: UInt64
        var size_bytes: UInt64
        var training_context_length: Int
        var layers: Int
        var layer_kinds: ModelMetadata.LayerKinds
        var kv_heads_per_layer: [Int]
        var kv_bytes_per_token_f16: Int
        var kv_capacity_tokens: Int
        var kv_layout: String
        var kv_sizing: KVSizing
        var prefix_cache: PrefixCacheInfo
        /// Whether prompts start one per step while others decode (on a CPU).
        var serial_prefill: Bool
        var engine_threads: CPUBudget?
        var max_model_len: Int
        var engine: String
        var gpu_offload: Bool
        /// Each setting in force, by its `NIM_*` name (`ServerConfig.settings`).
        var settings: [String: String]
        /// Where the chat template comes from: `model` (the GGUF's) or the override file.
        var chat_template: String
        /// What the template does with tools and reasoning.
        var chat: Chat
        /// What the model serves.
        var serves: Serves
        /// LoRA adapters: loaded, skipped and the limits.
        var lora: AdapterRegistry.Info
        /// The split mode, its reason and the profile name.
        var parallel: Parallel
        /// Each device's part of the model: layers, KV cells and bytes.
        var devices: [DevicePlacement]
    }

    /// How the model spreads over devices.
    struct Parallel: Encodable {
        var split_mode: String
        var profile: String
        var reason: String
        var rpc_servers: [String]
    }

    /// What the model serves, and how its embeddings are pooled.
    struct Serves: Encodable {
        var generation: Bool
        var embeddings: Bool
        var pooling: String?
    }

    /// The prefix cache in force.
    struct PrefixCacheInfo: Encodable {
        /// `slots` (partitioned: a free slot keeps its KV), `blocks` (unified: hashed
        /// blocks), or `off`.
        var mode: String
        /// Tokens per block, and the shortest reuse worth taking a slot for.
        var block_tokens: Int
        /// The host-RAM tier's budget in bytes (0: none) and what it holds now.
        var host_tier_bytes: Int
        var host_tier_used_bytes: Int
        /// Cached prefixes are scoped by tenant, then by the request's `cache_salt`.
        var scope: String
    }

    /// The chat template's tool-call and reasoning handling.
    struct Chat: Encodable {
        /// The format a request with tools gets: llama.cpp's name for the template's
        /// native format, or `generic` (JSON replies) for a template that shows no tool calls.
        var tool_call_format: String
        /// Whether the template renders tool calls itself.
        var native_tool_calls: Bool
        /// Whether the template has a thinking section.
        var thinking: Bool
        /// Where reasoning goes (`NIM_REASONING_FORMAT`).
        var reasoning_format: String
    }

    /// `GET /v1/metadata`.
    func metadata(_ request: Request, context: some RequestContext) throws -> Response {
        let engine = try state.readyEngine()
        let m = engine.model.metadata
        return try CompletionHandler.json(Metadata(
            model: engine.servedName, path: engine.model.path, architecture: m.architecture,
            description: engine.model.description, parameters: engine.model.parameterCount,
            size_bytes: engine.model.sizeBytes, training_context_length: m.trainingContextLength,
            layers: m.layerCount, layer_kinds: m.layerKinds, kv_heads_per_layer: m.headCountKV,
            kv_bytes_per_token_f16: m.kvElementsPerToken * 2, kv_capacity_tokens: engine.scheduler.snapshot.kvCapacity,
            kv_layout: config.unifiedKV ? "unified" : "partitioned", kv_sizing: engine.kvSizing,
            prefix_cache: PrefixCacheInfo(mode: engine.scheduler.prefixCacheMode,
                                          block_tokens: engine.scheduler.config.prefixBlockSize,
                                          host_tier_bytes: engine.scheduler.prefixCacheMode == "slots" ? engine.scheduler.config.hostCacheBytes : 0,
                                          host_tier_used_bytes: engine.scheduler.snapshot.hostCachedBytes,
                                          scope: "tenant+cache_salt+adapter"),
            serial_prefill: engine.scheduler.config.serialPrefill,
            engine_threads: engine.threads, max_model_len: engine.scheduler.maxModelLength,
            engine: engine.identity.version, gpu_offload: engine.identity.gpuOffload, settings: config.settings,
            chat_template: config.chatTemplateFile ?? "model", chat: Chat(engine.model.chatCapabilities, config),
            serves: Serves(generation: engine.serves.generation, embeddings: engine.serves.embeddings != nil,
                           pooling: engine.serves.embeddings?.rawValue),
            lora: engine.adapters.info(switches: engine.scheduler.snapshot.adapters.switches),
            parallel: Parallel(split_mode: engine.parallel.mode.rawValue, profile: engine.parallel.profile,
                               reason: engine.parallel.reason, rpc_servers: config.parallel.rpcServers),
            devices: engine.placement))
    }

    struct TokenizeRequest: Decodable {
        var prompt: String?
        var messages: [ChatMessageBody]?
        var add_special_tokens: Bool?
        var model: String?
    }

    /// `POST /tokenize`: a prompt, or chat messages through the template.
    func tokenize(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await decodeJSONBody(TokenizeRequest.self, from: request, limit: config.maxBodyBytes)
        let engine = try state.readyEngine()
        // An adapter shares the base model's vocabulary: any model name that resolves will do.
        _ = try CompletionHandler.resolveModel(body.model, engine)
        let tokens: [Token]
        if let messages = body.messages {
            let text = try engine.model.prompt(for: messages.map(\.message))
            tokens = try engine.model.tokenize(text, addSpecial: true, parseSpecial: true)
        } else if let prompt = body.prompt {
            tokens = try engine.model.tokenize(prompt, addSpecial: body.add_special_tokens ?? true, parseSpecial: false)
        } else {
            throw APIError.badRequest("give either prompt or messages", param: "prompt")
        }
        return try CompletionHandler.json(TokenizeResponse(tokens: tokens, count: tokens.count,
                                                           max_model_len: engine.scheduler.maxModelLength))
    }

    struct TokenizeResponse: Encodable { var tokens: [Int32]; var count: Int; var max_model_len: Int }
    struct DetokenizeRequest: Decodable { var tokens: [Int64]; var model: String? }

    /// `POST /detokenize`.
    func detokenize(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await decodeJSONBody(DetokenizeRequest.self, from: request, limit: config.maxBodyBytes)
        let engine = try state.readyEngine()
        // An adapter shares the base model's vocabulary: any model name that resolves will do.
        _ = try CompletionHandler.resolveModel(body.model, engine)
        let tokens = try body.tokens.map { id throws(APIError) -> Token in
            guard let t = Token(exactly: id), engine.model.isValidToken(t) else {
                throw APIError.badRequest("token \(id) is outside the vocabulary", param: "tokens")
            }
            return t
        }
        return try CompletionHandler.json(["prompt": engine.model.detokenize(tokens, special: false)])
    }
}

extension InfoRoutes.Chat {
    init(_ c: ChatCapabilities, _ config: ServerConfig) {
        self.init(tool_call_format: c.toolCallFormat, native_tool_calls: c.nativeTools, thinking: c.thinking,
                  reasoning_format: config.reasoningFormat.rawValue)
    }
}
