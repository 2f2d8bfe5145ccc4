import Foundation

/// The Responses API's output items and response object, built from a chat completion's
/// message: reasoning first, then the message, then each function call, as OpenAI lists
/// them. The non-streamed route and the end of a stream build the same object.
enum ResponsesOutput {
    /// An id in the Responses API's style, `prefix_` and 32 hex digits.
    static func id(_ prefix: String) -> String { openAIID(prefix + "_") }

    static func reasoningItem(id: String, text: String) -> [String: Any] {
        let content: [Any] = [["type": "reasoning_text", "text": text]]
        return ["id": id, "type": "reasoning", "summary": [Any](), "content": content]
    }

    static func textPart(_ text: String) -> [String: Any] {
        ["type": "output_text", "text": text, "annotations": [Any](), "logprobs": [Any]()]
    }

    static func messageItem(id: String, text: String, status: String = "completed") -> [String: Any] {
        let content: [Any] = status == "completed" ? [textPart(text)] : []
        return ["id": id, "type": "message", "status": status, "role": "assistant", "content": content]
    }

    static func callItem(id: String, callID: String, name: String, arguments: String, status: String = "completed") -> [String: Any] {
        ["id": id, "type": "function_call", "status": status, "call_id": callID, "name": name, "arguments": arguments]
    }

    /// The output items of one chat message.
    static func items(from message: AssistantMessage) -> [[String: Any]] {
        var items: [[String: Any]] = []
        if let reasoning = message.reasoning_content, !reasoning.isEmpty {
            items.append(reasoningItem(id: id("rs"), text: reasoning))
        }
        let calls = message.tool_calls ?? []
        let content = message.content ?? ""
        if !content.isEmpty || calls.isEmpty { items.append(messageItem(id: id("msg"), text: content)) }
        for call in calls {
            items.append(callItem(id: id("fc"), callID: call.id ?? id("call"), name: call.function.name ?? "",
                                  arguments: call.function.arguments))
        }
        return items
    }

    /// The Responses API's `usage`.
    static func usage(input: Int, output: Int, cached: Int) -> [String: Any] {
        ["input_tokens": input, "input_tokens_details": ["cached_tokens": cached], "output_tokens": output,
         "output_tokens_details": ["reasoning_tokens": 0], "total_tokens": input + output]
    }

    /// The response object. `finishReason` `length` makes it `incomplete`, as OpenAI reports
    /// a response cut at `max_output_tokens`.
    static func response(id: String, created: Int, model: String, echo: [String: Any], status: String,
                         output: [[String: Any]], usage: [String: Any]?, finishReason: String? = nil,
                         error: [String: Any]? = nil) -> [String: Any] {
        var status = status
        var incomplete: Any = NSNull()
        if status == "completed", finishReason == "length" {
            status = "incomplete"
            incomplete = ["reason": "max_output_tokens"]
        }
        var object: [String: Any] = [
            "id": id, "object": "response", "created_at": created, "status": status, "model": model,
            "output": output, "incomplete_details": incomplete, "error": error ?? NSNull(),
            "previous_response_id": NSNull(), "store": false, "truncation": "disabled",
            "parallel_tool_calls": echo["parallel_tool_calls"] ?? true, "tool_choice": echo["tool_choice"] ?? "auto",
            "tools": echo["tools"] ?? [Any](), "metadata": echo["metadata"] ?? [String: Any](),
            "text": echo["text"] ?? ["format": ["type": "text"]], "reasoning": echo["reasoning"] ?? ["effort": NSNull()],
            "usage": usage ?? NSNull(),
        ]
        for key in ["instructions", "temperature", "top_p", "max_output_tokens", "user"] {
            object[key] = echo[key] ?? NSNull()
        }
        return object
    }

    /// JSON text for a response object or an event.
    static func json(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
    }
}

/// An OpenAI-style id: `prefix` (with its separator) and 32 lowercase hex digits.
func openAIID(_ prefix: String) -> String {
    prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
}
