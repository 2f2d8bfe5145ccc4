import CorralCore
import Scheduler

/// Token usage, exact from the scheduler's counts.
struct Usage: Encodable, Sendable {
    var prompt_tokens: Int
    var completion_tokens: Int
    var total_tokens: Int
    var prompt_tokens_details: PromptTokensDetails

    /// OpenAI's breakdown of the prompt: how much of it came from the prefix cache.
    struct PromptTokensDetails: Encodable, Sendable {
        var cached_tokens: Int
    }

    init(prompt: Int, completion: Int, cached: Int = 0) {
        prompt_tokens = prompt
        completion_tokens = completion
        total_tokens = prompt + completion
        prompt_tokens_details = PromptTokensDetails(cached_tokens: cached)
    }

    /// Prompt tokens reused from the cache, counted once per prompt: `cached[i]` is choice
    /// `i`'s figure, and choices come `perPrompt` to a prompt (n), the first one leading.
    static func cachedTokens(_ cached: [Int], perPrompt: Int) -> Int {
        stride(from: 0, to: cached.count, by: max(perPrompt, 1)).reduce(0) { $0 + cached[$1] }
    }
}

/// One alternative in chat logprobs.
struct ChatTopLogprob: Encodable, Sendable {
    var token: String
    var logprob: Float
    var bytes: [UInt8]
}

/// One token in chat logprobs.
struct ChatTokenLogprob: Encodable, Sendable {
    var token: String
    var logprob: Float
    var bytes: [UInt8]
    var top_logprobs: [ChatTopLogprob]
}

/// Chat `logprobs` object.
struct ChatLogprobs: Encodable, Sendable { var content: [ChatTokenLogprob] }

/// Legacy completions `logprobs` object.
struct CompletionLogprobs: Encodable, Sendable {
    var tokens: [String] = []
    var token_logprobs: [Float] = []
    var top_logprobs: [[String: Float]] = []
    var text_offset: [Int] = []
}

/// An assistant message, or a streamed piece of one.
struct AssistantMessage: Encodable, Sendable {
    var role = "assistant"
    var content: String?
    var reasoning_content: String?
    var tool_calls: [ToolCallJSON]?

    /// One tool call, or in a stream a piece of one (`index` says which; `id`, `type` and
    /// the name come in its first piece).
    struct ToolCallJSON: Encodable, Sendable {
        struct Function: Encodable, Sendable {
            var name: String?
            var arguments: String
        }
        var index: Int?
        var id: String?
        var type: String?
        var function: Function
    }

    /// The message a parsed output makes: `content` is null when the turn is only calls.
    init(_ parsed: ParsedChatMessage, hideReasoning: Bool) {
        content = parsed.content.isEmpty && !parsed.toolCalls.isEmpty ? nil : parsed.content
        reasoning_content = hideReasoning || parsed.reasoningContent.isEmpty ? nil : parsed.reasoningContent
        tool_calls = parsed.toolCalls.isEmpty ? nil : parsed.toolCalls.map {
            ToolCallJSON(id: $0.id, type: "function", function: .init(name: $0.name, arguments: $0.arguments))
        }
    }

    /// A stream chunk's delta for one parsed piece.
    init(delta: ChatDelta) {
        switch delta {
        case .content(let text): content = text
        case .reasoning(let text): reasoning_content = text
        case .toolCall(let index, let id, let name, let arguments):
            tool_calls = [ToolCallJSON(index: index, id: id, type: id == nil ? nil : "function",
                                       function: .init(name: name, arguments: arguments))]
        }
    }

    /// A plain message or delta.
    init(content: String?) {
        self.content = content
    }
}

/// `chat.completion`.
struct ChatCompletion: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var index: Int
        var message: AssistantMessage
        var logprobs: ChatLogprobs?
        var finish_reason: String?
    }
    var id: String
    var object = "chat.completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage
    var stats: RequestStats?
}

/// `chat.completion.chunk`.
struct ChatCompletionChunk: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var index: Int
        var delta: AssistantMessage
        var logprobs: ChatLogprobs?
        var finish_reason: String?
    }
    var id: String
    var object = "chat.completion.chunk"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
    var stats: RequestStats?
}

/// `text_completion`, whole or as a stream chunk.
struct TextCompletion: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var index: Int
        var text: String
        var logprobs: CompletionLogprobs?
        var finish_reason: String?
    }
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
    var stats: RequestStats?
}

/// Per-request timing, when `NIM_PER_REQ_METRICS_ENABLE` is on: from the scheduler's own
/// clocks, in seconds. Several choices report together: the first start, the last end.
struct RequestStats: Encodable, Sendable {
    var queue_time: Double
    var time_to_first_token: Double
    var mean_inter_token_latency: Double
    var e2e_latency: Double
    var tokens_per_second: Double
    /// Speculative decoding's share, present when the request verified drafts.
    var draft_tokens: Int?
    var draft_tokens_accepted: Int?
    var draft_acceptance_rate: Double?

    init?(_ summaries: [GenerationSummary]) {
        guard !summaries.isEmpty else { return nil }
        let tokens = summaries.reduce(0) { $0 + $1.completionTokens }
        let gaps = summaries.reduce(0) { $0 + max($1.completionTokens - 1, 0) }
        queue_time = summaries.map(\.queueTime).min() ?? 0
        time_to_first_token = summaries.map(\.timeToFirstToken).min() ?? 0
        e2e_latency = summaries.map(\.totalTime).max() ?? 0
        mean_inter_token_latency = gaps > 0
            ? summaries.reduce(0) { $0 + $1.meanInterTokenLatency * Double(max($1.completionTokens - 1, 0)) } / Double(gaps)
            : 0
        tokens_per_second = e2e_latency > 0 ? Double(tokens) / e2e_latency : 0
        let drafted = summaries.reduce(0) { $0 + $1.draftTokens }
        if drafted > 0 {
            let accepted = summaries.reduce(0) { $0 + $1.acceptedDraftTokens }
            draft_tokens = drafted
            draft_tokens_accepted = accepted
            draft_acceptance_rate = Double(accepted) / Double(drafted)
        }
    }
}

