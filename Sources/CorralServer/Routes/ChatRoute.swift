import Foundation
import Hummingbird
import CorralCore
import Scheduler

extension CompletionHandler {
    /// `POST /v1/chat/completions`.
    func chat(_ request: Request, context: some RequestContext) async throws -> Response {
        let (body, bytes) = try await decodeJSONBodyAndBytes(ChatCompletionRequest.self, from: request, limit: config.maxBodyBytes)
        let chat = try prepareChat(body, bytes, for: request)
        let (events, output, n, prompt) = (chat.events, chat.output, chat.choices, chat.promptTokens)
        if body.options.stream == true {
            let includeUsage = body.options.stream_options?.include_usage == true
            let streams = try (0..<n).map { _ in try output.stream() }
            return sse(events, choices: n, perPrompt: n, promptTokens: prompt, includeUsage: includeUsage, render: { index, event, encoder in
                try streams[index].render(event, index: index, encoder: encoder)
            }, usageChunk: { usage, encoder in
                try encoder.encode(ChatCompletionChunk(id: output.id, created: output.created, model: output.model,
                                                       choices: [], usage: usage))
            })
        }

        let results = try await collect(events, count: n)
        logText("completion", results.map(\.text).joined(separator: "\n"), request)
        let completion = ChatCompletion(
            id: output.id, created: output.created, model: output.model,
            choices: try results.enumerated().map { index, r in try output.choice(index, r) },
            usage: Usage(prompt: prompt, completion: results.reduce(0) { $0 + ($1.summary?.completionTokens ?? 0) },
                         cached: results.first?.summary?.cachedTokens ?? 0),
            stats: stats(results.compactMap(\.summary)))
        return try Self.json(completion)
    }

    /// A chat request validated, rendered and queued: its choices' events and the output
    /// renderer. `/v1/chat/completions` and `/v1/responses` frame the same events.
    struct PreparedChat {
        let events: AsyncStream<(Int, GenerationEvent)>
        let output: ChatOutput
        let choices: Int
        let promptTokens: Int
    }

    /// A chat request validated and rendered through the template, not yet queued: what
    /// generation submits and `/v1/chat/completions/render` returns.
    struct RenderedChat {
        let engine: ServingEngine
        let target: ModelChoice
        let plan: ChatPlan
        let prompt: [Token]
        let options: ValidatedOptions
        let choices: Int
        let logprobs: Int?
    }

    /// Validates `body` once and renders it through the template into prompt tokens.
    func renderChat(_ body: ChatCompletionRequest, _ bytes: Data, for request: Request) throws -> RenderedChat {
        let engine = try generationEngine()
        let target = try Self.resolveModel(body.options.model, engine)
        guard !body.messages.isEmpty else { throw APIError.badRequest("messages must not be empty", param: "messages") }
        if let top = body.top_logprobs, !(0...20).contains(top) {
            throw APIError.badRequest("top_logprobs must be between 0 and 20", param: "top_logprobs")
        }
        let model = engine.model
        let chatRequest = try body.chatRequest(body: bytes, reasoning: config.reasoningFormat)
        let plan: ChatPlan
        do {
            plan = try model.renderChat(chatRequest)
        } catch {
            throw APIError.badRequest("could not apply the chat template: \(error)", param: "messages")
        }
        logText("prompt", plan.prompt, request)
        let prompt = try model.tokenize(plan.prompt, addSpecial: true, parseSpecial: true)
        let n = try body.options.choiceCount()
        let logprobs = body.logprobs == true ? (body.top_logprobs ?? 0) : nil
        let remaining = max(engine.scheduler.maxModelLength - prompt.count, 1)
        var options = try body.options.validated(defaultMaxTokens: remaining, model: model, body: bytes,
                                                 queueTimeout: config.queueTimeoutIfSet, tools: plan.grammar)
        options.stops += plan.additionalStops
        options.shownSpecialTokens = plan.shownSpecialTokens
        if let thinking = plan.thinking, body.thinkingBudget != nil || plan.grammar?.lazy == true {
            // Limiting the thinking needs the budget sampler; so does a lazy tool grammar,
            // which must not wake on an opener the model writes while it thinks.
            var section = thinking
            section.budget = body.thinkingBudget
            options.sampling.thinking = section
        }
        return RenderedChat(engine: engine, target: target, plan: plan, prompt: prompt, options: options,
                            choices: n, logprobs: logprobs)
    }

    /// Validates `body` once, renders it through the template and submits its choices.
    func prepareChat(_ body: ChatCompletionRequest, _ bytes: Data, for request: Request) throws -> PreparedChat {
        let r = try renderChat(body, bytes, for: request)
        let requests = (0..<r.choices).map { r.options.request(prompt: r.prompt, logprobs: r.logprobs, choice: $0) }
        let events = try submit([requests], to: r.engine, model: r.target, promptParam: "messages", for: request,
                                priority: body.options.priority)
        let output = ChatOutput(id: openAIID("chatcmpl-"),
                                created: Int(Date().timeIntervalSince1970), model: r.target.name, served: r.engine.model,
                                plan: r.plan, hideReasoning: config.reasoningFormat == .hidden, logprobs: r.logprobs != nil,
                                perRequestStats: config.perRequestStats)
        return PreparedChat(events: events, output: output, choices: r.choices, promptTokens: r.prompt.count)
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
