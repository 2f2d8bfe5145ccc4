import Foundation
import Hummingbird
import CorralCore
import Scheduler

extension CompletionHandler {
    /// `POST /v1/chat/completions`.
    func chat(_ request: Request, context: some RequestContext) async throws -> Response {
        let (body, bytes) = try await decodeJSONBodyAndBytes(ChatCompletionRequest.self, from: request, limit: config.maxBodyBytes)
        let engine = try state.readyEngine()
        try checkModel(body.options.model, engine)
        guard !body.messages.isEmpty else { throw APIError.badRequest("messages must not be empty", param: "messages") }
        if let top = body.top_logprobs, !(0...20).contains(top) {
            throw APIError.badRequest("top_logprobs must be between 0 and 20", param: "top_logprobs")
        }
        let model = engine.model
        let text: String
        do {
            text = try model.prompt(for: body.messages.map { ChatMessage(role: $0.role, content: $0.content) })
        } catch {
            throw APIError.badRequest("could not apply the chat template: \(error)", param: "messages")
        }
        logText("prompt", text, request)
        let prompt = try model.tokenize(text, addSpecial: true, parseSpecial: true)
        let n = try body.options.choiceCount()
        let logprobs = body.logprobs == true ? (body.top_logprobs ?? 0) : nil
        let remaining = max(engine.scheduler.maxModelLength - prompt.count, 1)
        let grammar = try body.options.grammar(for: model, body: bytes)
        let options = try body.options.validated(defaultMaxTokens: remaining, model: model,
                                                 queueTimeout: config.queueTimeoutIfSet, grammar: grammar)
        let requests = (0..<n).map { options.request(prompt: prompt, logprobs: logprobs, choice: $0) }
        let events = try submit([requests], to: engine, promptParam: "messages")
        let id = "chatcmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int(Date().timeIntervalSince1970)
        let name = engine.servedName

        if body.options.stream == true {
            let includeUsage = body.options.stream_options?.include_usage == true
            return sse(events, choices: n, promptTokens: prompt.count, includeUsage: includeUsage, render: { index, event, encoder in
                func chunk(_ delta: AssistantMessage, _ lps: [TokenLogprobs], _ finish: GenerationSummary?) throws -> Data {
                    let logprobs = logprobs == nil ? nil : ChatLogprobs(content: lps.map { chatLogprob($0, model) })
                    return try encoder.encode(ChatCompletionChunk(id: id, created: created, model: name, choices: [
                        .init(index: index, delta: delta, logprobs: logprobs, finish_reason: finish?.reason.rawValue)],
                        stats: finish.flatMap { stats([$0]) }))
                }
                switch event {
                case .delta(let text, _, let lps):
                    return text.isEmpty && lps.isEmpty ? [] : [try chunk(AssistantMessage(content: text), lps, nil)]
                case .finished(let summary):
                    return [try chunk(AssistantMessage(content: nil), [], summary)]
                case .failed:
                    return []
                }
            }, usageChunk: { usage, encoder in
                try encoder.encode(ChatCompletionChunk(id: id, created: created, model: name, choices: [], usage: usage))
            })
        }

        let results = try await collect(events, count: n)
        logText("completion", results.map(\.text).joined(separator: "\n"), request)
        let completion = ChatCompletion(
            id: id, created: created, model: name,
            choices: results.enumerated().map { index, r in
                .init(index: index, message: AssistantMessage(content: r.text),
                      logprobs: logprobs == nil ? nil : ChatLogprobs(content: r.logprobs.map { chatLogprob($0, model) }),
                      finish_reason: r.summary?.reason.rawValue)
            },
            usage: Usage(prompt: prompt.count, completion: results.reduce(0) { $0 + ($1.summary?.completionTokens ?? 0) }),
            stats: stats(results.compactMap(\.summary)))
        return try Self.json(completion)
    }
}

/// Chat-style logprobs for one token.
func chatLogprob(_ lp: TokenLogprobs, _ model: any ServedModel) -> ChatTokenLogprob {
    func entry(_ token: Token) -> (String, [UInt8]) {
        let bytes = model.tokenBytes(token, special: false)
        return (String(decoding: bytes, as: UTF8.self), bytes)
    }
    let (text, bytes) = entry(lp.token)
    return ChatTokenLogprob(token: text, logprob: lp.logprob, bytes: bytes, top_logprobs: lp.top.map {
        let (t, b) = entry($0.token)
        return ChatTopLogprob(token: t, logprob: $0.logprob, bytes: b)
    })
}
