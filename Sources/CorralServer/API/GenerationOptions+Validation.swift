import Foundation
import CorralCore
import Scheduler

extension GenerationOptions {
    /// The number of choices, checked before anything else is built from it.
    func choiceCount() throws(APIError) -> Int {
        let n = n ?? 1
        guard (1...16).contains(n) else { throw .badRequest("n must be between 1 and 16", param: "n") }
        return n
    }

    /// Checks the output constraint (`outputGrammar`), then ranges the way OpenAI and vLLM
    /// do, once per request, and returns what every choice's scheduler request is built
    /// from. Every violation is a 400 naming the parameter.
    /// - Parameters:
    ///   - body: the request's bytes, to read schemas with their keys in order.
    ///   - tools: the chat template's tool-call grammar, when tools may be called.
    func validated(defaultMaxTokens: Int, model: any ServedModel, body: Data, queueTimeout: Double? = nil,
                   tools: GrammarSpec? = nil) throws(APIError) -> ValidatedOptions {
        let grammar = try outputGrammar(for: model, body: body, tools: tools)
        if let t = temperature, !(0...2).contains(t) { throw .badRequest("temperature must be between 0 and 2", param: "temperature") }
        if let p = top_p, !(p > 0 && p <= 1) { throw .badRequest("top_p must be in (0, 1]", param: "top_p") }
        if let k = top_k, k < -1 { throw .badRequest("top_k must be -1 (off) or at least 0", param: "top_k") }
        if let m = min_p, !(0...1).contains(m) { throw .badRequest("min_p must be between 0 and 1", param: "min_p") }
        for (name, v) in [("presence_penalty", presence_penalty), ("frequency_penalty", frequency_penalty)] {
            if let v, !(-2...2).contains(v) { throw .badRequest("\(name) must be between -2 and 2", param: name) }
        }
        if let r = repetition_penalty, !(r > 0 && r <= 10) { throw .badRequest("repetition_penalty must be in (0, 10]", param: "repetition_penalty") }
        let maxTokens = max_completion_tokens ?? max_tokens ?? defaultMaxTokens
        if maxTokens < 1 { throw .badRequest("max_tokens must be at least 1", param: max_completion_tokens != nil ? "max_completion_tokens" : "max_tokens") }
        if let m = min_tokens, m < 0 || m > maxTokens { throw .badRequest("min_tokens must be between 0 and max_tokens", param: "min_tokens") }
        let stops = stop?.values ?? []
        if stops.count > 16 { throw .badRequest("at most 16 stop sequences", param: "stop") }
        if let salt = cache_salt, salt.isEmpty || salt.utf8.count > 1024 {
            throw .badRequest("cache_salt must be a non-empty string of at most 1024 bytes", param: "cache_salt")
        }
        if let s = seed, s < Int(Int32.min) || s > Int(UInt32.max) { throw .badRequest("seed is out of range", param: "seed") }

        var bias: [Token: Float] = [:]
        for (key, value) in logit_bias ?? [:] {
            guard let id = Token(key), model.isValidToken(id) else { throw .badRequest("logit_bias key \(key) is not a token id", param: "logit_bias") }
            guard (-100...100).contains(value) else { throw .badRequest("logit_bias values must be between -100 and 100", param: "logit_bias") }
            bias[id] = Float(value)
        }
        let sampling = SamplingParameters(
            temperature: Float(temperature ?? 1), topK: max(top_k ?? 0, 0), topP: Float(top_p ?? 1),
            minP: Float(min_p ?? 0), repetitionPenalty: Float(repetition_penalty ?? 1),
            presencePenalty: Float(presence_penalty ?? 0), frequencyPenalty: Float(frequency_penalty ?? 0),
            logitBias: bias, grammar: grammar)
        return ValidatedOptions(maxTokens: maxTokens, sampling: sampling, seed: seed, stops: stops,
                                ignoreEOS: ignore_eos ?? false, minTokens: min_tokens ?? 0, priority: priority ?? 0,
                                queueTimeout: queueTimeout, cacheSalt: cache_salt ?? "")
    }
}

/// A request's generation options after validation.
struct ValidatedOptions {
    var maxTokens: Int
    var sampling: SamplingParameters
    var seed: Int?
    var stops: [String]
    var ignoreEOS: Bool
    var minTokens: Int
    var priority: Int
    var queueTimeout: Double?
    var cacheSalt = ""
    var shownSpecialTokens: Set<Token> = []

    /// The scheduler request for choice `choice` of `prompt`.
    func request(prompt: [Token], logprobs: Int?, choice: Int) -> GenerationRequest {
        var sampling = sampling
        // Each of n choices gets its own seed, derived from the request's, so they differ
        // but the whole response is reproducible.
        if let seed { sampling.seed = UInt32(truncatingIfNeeded: seed &+ choice) }
        var request = GenerationRequest(prompt: prompt, maxTokens: maxTokens, sampling: sampling, stop: stops,
                                        ignoreEOS: ignoreEOS, minTokens: minTokens, priority: priority, logprobs: logprobs,
                                        queueTimeout: queueTimeout)
        request.shownSpecialTokens = shownSpecialTokens
        request.cacheSalt = cacheSalt
        return request
    }
}
