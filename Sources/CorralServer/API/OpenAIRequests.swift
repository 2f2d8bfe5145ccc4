import CorralCore

/// A string, or an array of strings (OpenAI's `stop` and `prompt`).
// Hand-written, not generated: a oneOf of string and array generates an enum every reader would unwrap to the same list.
struct StringOrArray: Decodable, Sendable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { values = [s] } else { values = try c.decode([String].self) }
    }
}

/// A chat message whose content is a string or an array of text parts; an assistant
/// message may carry `tool_calls`, and a `tool` message answers one by `tool_call_id`.
// Hand-written, not generated: it refuses unknown fields with a 400 naming them, which generated Codable types drop.
struct ChatMessageBody: Decodable, Sendable {
    var role: String
    var content: String
    var toolCalls: [ToolCall] = []
    var toolCallID: String?
    var reasoningContent: String?

    /// OpenAI's roles; `developer` is the newer name for `system`. Anything else is a 400.
    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool"]
    private struct Part: Decodable { var type: String; var text: String? }

    /// The message as the chat template reads it.
    var message: ChatMessage {
        ChatMessage(role: role, content: content, toolCalls: toolCalls, toolCallID: toolCallID,
                    reasoningContent: reasoningContent)
    }

    init(from decoder: any Decoder) throws {
        // `name` labels a participant and templates do not render it.
        try rejectUnknownFields(decoder, allowed: ["role", "content", "name", "tool_calls", "tool_call_id",
                                                   "reasoning_content"])
        let c = try decoder.container(keyedBy: FieldKey.self)
        let contentKey = FieldKey("content")
        role = try c.decode(String.self, forKey: FieldKey("role"))
        guard Self.roles.contains(role) else {
            throw DecodingError.dataCorruptedError(forKey: FieldKey("role"), in: c,
                debugDescription: "role must be one of \(Self.roles.sorted().joined(separator: ", ")), not '\(role)'")
        }
        if let text = try? c.decode(String.self, forKey: contentKey) {
            content = text
        } else if let parts = try? c.decode([Part].self, forKey: contentKey) {
            guard parts.allSatisfy({ $0.type == "text" }) else {
                throw DecodingError.dataCorruptedError(forKey: contentKey, in: c, debugDescription: "only text content parts are supported")
            }
            content = parts.compactMap(\.text).joined()
        } else if try !c.contains(contentKey) || c.decodeNil(forKey: contentKey) {
            content = ""
        } else {
            throw DecodingError.dataCorruptedError(forKey: contentKey, in: c, debugDescription: "content must be a string or an array of text parts")
        }
        if let calls = try c.decodeIfPresent([ToolCallBody].self, forKey: FieldKey("tool_calls")) {
            guard role == "assistant" else {
                throw DecodingError.dataCorruptedError(forKey: FieldKey("tool_calls"), in: c,
                    debugDescription: "only an assistant message makes tool calls")
            }
            toolCalls = calls.map(\.call)
        }
        toolCallID = try c.decodeIfPresent(String.self, forKey: FieldKey("tool_call_id"))
        if role == "tool", toolCallID == nil {
            throw DecodingError.keyNotFound(FieldKey("tool_call_id"), .init(codingPath: c.codingPath,
                debugDescription: "a tool message names the call it answers"))
        }
        reasoningContent = try c.decodeIfPresent(String.self, forKey: FieldKey("reasoning_content"))
    }
}

/// Parameters shared by chat and text completions.
// Hand-written, not generated: both requests decode it from their own object, where generated types would copy it per operation.
struct GenerationOptions: Decodable, Sendable {
    var model: String?
    var max_tokens: Int?
    var max_completion_tokens: Int?
    var temperature: Double?
    var top_p: Double?
    var top_k: Int?
    var min_p: Double?
    var seed: Int?
    var stop: StringOrArray?
    var n: Int?
    var presence_penalty: Double?
    var frequency_penalty: Double?
    var repetition_penalty: Double?
    var logit_bias: [String: Double]?
    var stream: Bool?
    var stream_options: StreamOptions?
    var ignore_eos: Bool?
    var min_tokens: Int?
    var priority: Int?
    var user: String?
    var response_format: ResponseFormat?
    var nvext: NVExt?
    /// llama-server's top-level schema and GBNF grammar.
    var json_schema: SchemaObject?
    var grammar: String?
    /// vLLM's prefix-cache scope: only requests with the same salt (and tenant) share
    /// cached KV.
    var cache_salt: String?

    struct StreamOptions: Decodable, Sendable { var include_usage: Bool? }

    /// Every field decoded above.
    static let fields: Set<String> = [
        "model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "stop", "n",
        "presence_penalty", "frequency_penalty", "repetition_penalty", "logit_bias", "stream", "stream_options",
        "ignore_eos", "min_tokens", "priority", "user", "response_format", "nvext", "json_schema", "grammar",
        "cache_salt",
    ]
    /// Accepted and not used: they label or route a request and cannot change its output.
    static let informational: Set<String> = [
        "metadata", "store", "service_tier", "prompt_cache_key", "safety_identifier",
    ]
    /// vLLM's and SGLang's switches, accepted only at the value that is what Corral does
    /// anyway (routers such as vllm-router write them into every request they forward);
    /// any other value changes the output and is a 400 naming the field.
    static let atCorralsBehaviour: [String: Bool] = [
        "no_stop_trim": false, "continue_final_message": false, "skip_special_tokens": true,
        "return_hidden_states": false, "stream_reasoning": true,
    ]
}

/// `POST /v1/chat/completions`.
// Hand-written, not generated: the generated server collects a body with no size limit; ours enforces it (413) before decoding.
struct ChatCompletionRequest: Decodable, Sendable {
    var messages: [ChatMessageBody]
    var logprobs: Bool?
    var top_logprobs: Int?
    var tools: [ToolBody]?
    var tool_choice: ToolChoiceBody?
    var parallel_tool_calls: Bool?
    /// OpenAI's effort for reasoning models; Corral maps it to a thinking budget.
    var reasoning_effort: String?
    var options: GenerationOptions

    /// vLLM's `include_reasoning` and SGLang's `separate_reasoning`, checked against
    /// `NIM_REASONING_FORMAT` (`chatRequest`): they may only ask for what it does.
    var include_reasoning: Bool?
    var separate_reasoning: Bool?

    private enum Keys: String, CodingKey {
        case messages, logprobs, top_logprobs, tools, tool_choice, parallel_tool_calls, reasoning_effort,
             include_reasoning, separate_reasoning
    }
    private static let allowed = GenerationOptions.fields.union(GenerationOptions.informational)
        .union(GenerationOptions.atCorralsBehaviour.keys)
        .union(["messages", "logprobs", "top_logprobs", "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort",
                "include_reasoning", "separate_reasoning"])
    /// Thinking budgets for `reasoning_effort`; `none` turns thinking off, `high` leaves it unlimited.
    static let effortBudgets: [String: Int?] = ["none": 0, "minimal": 256, "low": 1024, "medium": 4096, "high": nil]

    init(from decoder: any Decoder) throws {
        try rejectUnknownFields(decoder, allowed: Self.allowed)
        let c = try decoder.container(keyedBy: Keys.self)
        messages = try c.decode([ChatMessageBody].self, forKey: .messages)
        logprobs = try c.decodeIfPresent(Bool.self, forKey: .logprobs)
        top_logprobs = try c.decodeIfPresent(Int.self, forKey: .top_logprobs)
        tools = try c.decodeIfPresent([ToolBody].self, forKey: .tools)
        tool_choice = try c.decodeIfPresent(ToolChoiceBody.self, forKey: .tool_choice)
        parallel_tool_calls = try c.decodeIfPresent(Bool.self, forKey: .parallel_tool_calls)
        reasoning_effort = try c.decodeIfPresent(String.self, forKey: .reasoning_effort)
        include_reasoning = try c.decodeIfPresent(Bool.self, forKey: .include_reasoning)
        separate_reasoning = try c.decodeIfPresent(Bool.self, forKey: .separate_reasoning)
        try rejectChangedSwitches(decoder)
        if let effort = reasoning_effort, Self.effortBudgets[effort] == nil {
            throw DecodingError.dataCorruptedError(forKey: .reasoning_effort, in: c,
                debugDescription: "must be one of \(Self.effortBudgets.keys.sorted().joined(separator: ", "))")
        }
        options = try GenerationOptions(from: decoder)
    }
}

/// `POST /v1/completions`.
// Hand-written, not generated: the generated server collects a body with no size limit; ours enforces it (413) before decoding.
struct CompletionRequest: Decodable, Sendable {
    var prompt: StringOrArray
    var echo: Bool?
    var logprobs: Int?
    var options: GenerationOptions

    private enum Keys: String, CodingKey { case prompt, echo, logprobs }
    private static let allowed = GenerationOptions.fields.union(GenerationOptions.informational)
        .union(GenerationOptions.atCorralsBehaviour.keys).union(["prompt", "echo", "logprobs"])

    init(from decoder: any Decoder) throws {
        try rejectUnknownFields(decoder, allowed: Self.allowed)
        try rejectChangedSwitches(decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        prompt = try c.decode(StringOrArray.self, forKey: .prompt)
        echo = try c.decodeIfPresent(Bool.self, forKey: .echo)
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        options = try GenerationOptions(from: decoder)
    }
}
