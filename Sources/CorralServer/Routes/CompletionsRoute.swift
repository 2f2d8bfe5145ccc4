import Foundation
import Hummingbird
import CorralCore
import Scheduler
import Synchronization

extension CompletionHandler {
    /// `POST /v1/completions`. Choice `p * n + c` is choice `c` of prompt `p`, as OpenAI
    /// numbers them.
    func completions(_ request: Request, context: some RequestContext) async throws -> Response {
        let (body, bytes) = try await decodeJSONBodyAndBytes(CompletionRequest.self, from: request, limit: config.maxBodyBytes)
        let (engine, target, prompts, options, n) = try renderCompletion(body, bytes, for: request)
        let model = engine.model
        let groups = prompts.map { prompt in
            (0..<n).map { options.request(prompt: prompt, logprobs: body.logprobs, choice: $0) }
        }
        let requests = Array(groups.joined())
        let events = try submit(groups, to: engine, model: target, promptParam: "prompt", for: request,
                                priority: body.options.priority)
        let id = openAIID("cmpl-")
        let created = Int(Date().timeIntervalSince1970)
        let name = target.name
        let echo = body.echo == true ? body.prompt.values : nil
        let wantsLogprobs = body.logprobs != nil
        let promptTotal = prompts.reduce(0) { $0 + $1.count }

        if body.options.stream == true {
            // Echoed prompts go out with each choice's first chunk.
            let echoed = Mutex(Set<Int>())
            return sse(events, choices: requests.count, perPrompt: n, promptTokens: promptTotal,
                       includeUsage: body.options.stream_options?.include_usage == true, render: { index, event, encoder in
                func chunk(_ text: String, _ lps: [TokenLogprobs], _ finish: GenerationSummary?) throws -> Data {
                    var prefix = ""
                    if let echo, echoed.withLock({ $0.insert(index).inserted }) { prefix = echo[index / n] }
                    let logprobs = wantsLogprobs ? completionLogprobs(lps, model, offset: 0) : nil
                    return try encoder.encode(TextCompletion(id: id, created: created, model: name, choices: [
                        .init(index: index, text: prefix + text, logprobs: logprobs, finish_reason: finish?.reason.rawValue)],
                        stats: finish.flatMap { stats([$0]) }))
                }
                switch event {
                case .delta(let text, _, let lps): return text.isEmpty && lps.isEmpty ? [] : [try chunk(text, lps, nil)]
                case .finished(let s): return [try chunk("", [], s)]
                case .failed: return []
                }
            }, usageChunk: { usage, encoder in
                try encoder.encode(TextCompletion(id: id, created: created, model: name, choices: [], usage: usage))
            })
        }

        let results = try await collect(events, count: requests.count)
        logText("completion", results.map(\.text).joined(separator: "\n"), request)
        let response = TextCompletion(
            id: id, created: created, model: name,
            choices: results.enumerated().map { index, r in
                let prefix = echo?[index / n] ?? ""
                return .init(index: index, text: prefix + r.text,
                             logprobs: wantsLogprobs ? completionLogprobs(r.logprobs, model, offset: prefix.utf8.count) : nil,
                             finish_reason: r.summary?.reason.rawValue)
            },
            usage: Usage(prompt: promptTotal, completion: results.reduce(0) { $0 + ($1.summary?.completionTokens ?? 0) },
                         cached: Usage.cachedTokens(results.map { $0.summary?.cachedTokens ?? 0 }, perPrompt: n)),
            stats: stats(results.compactMap(\.summary)))
        return try Self.json(response)
    }

    /// Validates a completion request once and tokenizes its prompts: what generation
    /// submits and `/v1/completions/render` returns.
    func renderCompletion(_ body: CompletionRequest, _ bytes: Data, for request: Request) throws
        -> (engine: ServingEngine, target: ModelChoice, prompts: [[Token]], options: ValidatedOptions, choices: Int) {
        let engine = try generationEngine()
        let target = try Self.resolveModel(body.options.model, engine)
        let model = engine.model
        guard !body.prompt.values.isEmpty else { throw APIError.badRequest("prompt must not be empty", param: "prompt") }
        if let lp = body.logprobs, !(0...20).contains(lp) {
            throw APIError.badRequest("logprobs must be between 0 and 20", param: "logprobs")
        }
        logText("prompt", body.prompt.values.joined(separator: "\n"), request)
        let prompts = try body.prompt.values.map { try model.tokenize($0, addSpecial: true, parseSpecial: false) }
        if prompts.contains(where: { $0.isEmpty }) { throw APIError.badRequest("prompt must not be empty", param: "prompt") }
        let n = try body.options.choiceCount()
        let options = try body.options.validated(defaultMaxTokens: 16, model: model, body: bytes,
                                                 queueTimeout: config.queueTimeoutIfSet)
        return (engine, target, prompts, options, n)
    }
}

/// Legacy completions logprobs: parallel arrays, top alternatives as a token → logprob map.
func completionLogprobs(_ lps: [TokenLogprobs], _ model: any ServedModel, offset: Int) -> CompletionLogprobs {
    var out = CompletionLogprobs()
    var position = offset
    for lp in lps {
        let text = String(decoding: model.tokenBytes(lp.token, special: false), as: UTF8.self)
        out.tokens.append(text)
        out.token_logprobs.append(lp.logprob)
        out.top_logprobs.append(Dictionary(lp.top.map { (String(decoding: model.tokenBytes($0.token, special: false), as: UTF8.self), $0.logprob) },
                                           uniquingKeysWith: max))
        out.text_offset.append(position)
        position += text.utf8.count
    }
    return out
}
