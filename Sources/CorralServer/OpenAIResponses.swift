/// Token usage, exact from the scheduler's counts.
struct Usage: Encodable, Sendable {
    var prompt_tokens: Int
    var completion_tokens: Int
    var total_tokens: Int

    init(prompt: Int, completion: Int) {
        prompt_tokens = prompt
        completion_tokens = completion
        total_tokens = prompt + completion
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

/// An assistant message.
struct AssistantMessage: Encodable, Sendable {
    var role = "assistant"
    var content: String?
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
}

/// `GET /v1/models` entries.
struct ModelCard: Encodable, Sendable {
    var id: String
    var object = "model"
    var created: Int
    var owned_by = "corral"
    var root: String?
    var max_model_len: Int?
}

/// `GET /v1/models`.
struct ModelList: Encodable, Sendable {
    var object = "list"
    var data: [ModelCard]
}
