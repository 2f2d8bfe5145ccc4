import Foundation
import Hummingbird
import CorralCore

extension CompletionHandler {
    /// `POST /v1/chat/completions/render` (vLLM's): the request validated exactly as
    /// `/v1/chat/completions` validates it (the same 400s), the chat template applied, and
    /// the prompt's token ids, without generating. llm-d's precise prefix scorer calls it
    /// to key its KV-event index with the tokens the server will run.
    func chatRender(_ request: Request, context: some RequestContext) async throws -> Response {
        let (body, bytes) = try await decodeJSONBodyAndBytes(ChatCompletionRequest.self, from: request, limit: config.maxBodyBytes)
        let r = try renderChat(body, bytes, for: request)
        return try Self.json(RenderedPrompt(id: openAIID("chatcmpl-"), prompt: r.prompt, options: r.options, choices: r.choices,
                                            model: r.target.name, stream: body.options.stream == true))
    }

    /// `POST /v1/completions/render` (vLLM's): one rendered prompt per prompt of the
    /// request, validated as `/v1/completions` validates it.
    func completionsRender(_ request: Request, context: some RequestContext) async throws -> Response {
        let (body, bytes) = try await decodeJSONBodyAndBytes(CompletionRequest.self, from: request, limit: config.maxBodyBytes)
        let r = try renderCompletion(body, bytes, for: request)
        let id = openAIID("cmpl-")
        return try Self.json(r.prompts.enumerated().map { i, prompt in
            RenderedPrompt(id: "\(id)-\(i)", prompt: prompt, options: r.options, choices: r.choices, model: r.target.name,
                           stream: body.options.stream == true)
        })
    }
}

/// A prompt as generation would run it, in vLLM's `GenerateRequest` shape (fields that are
/// unset, such as `seed`, are left out).
struct RenderedPrompt: Encodable {
    /// The sampling settings generation would use, under vLLM's `SamplingParams` names.
    struct Sampling: Encodable {
        var max_tokens: Int
        var temperature: Float
        var top_p: Float
        var top_k: Int
        var min_p: Float
        var seed: Int?
        var n: Int
        var stop: [String]
        var ignore_eos: Bool
        var min_tokens: Int
        var presence_penalty: Float
        var frequency_penalty: Float
        var repetition_penalty: Float
    }

    var request_id: String
    var token_ids: [Int]
    var sampling_params: Sampling
    var model: String
    var stream: Bool
    var cache_salt: String?

    init(id: String, prompt: [Token], options: ValidatedOptions, choices: Int, model: String, stream: Bool) {
        let s = options.sampling
        request_id = id
        token_ids = prompt.map(Int.init)
        sampling_params = Sampling(max_tokens: options.maxTokens, temperature: s.temperature, top_p: s.topP, top_k: s.topK,
                                   min_p: s.minP, seed: options.seed, n: choices, stop: options.stops,
                                   ignore_eos: options.ignoreEOS, min_tokens: options.minTokens,
                                   presence_penalty: s.presencePenalty, frequency_penalty: s.frequencyPenalty,
                                   repetition_penalty: s.repetitionPenalty)
        self.model = model
        self.stream = stream
        cache_salt = options.cacheSalt.isEmpty ? nil : options.cacheSalt
    }
}
