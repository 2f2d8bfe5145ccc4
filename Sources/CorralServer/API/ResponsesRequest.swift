import Foundation

/// A `POST /v1/responses` body turned into the chat completion it asks for, as llama-server
/// serves the Responses API: instructions and input items become messages, function tools
/// and `text.format` become chat's tools and `response_format`, and the chat route does the
/// rest (one validation, the template, the tool-call and reasoning parsers). Read as JSON
/// objects rather than generated types: `input` is a string or a list of several item
/// kinds, and every field we do not implement must be refused by name.
struct ResponsesRequest {
    /// The chat completion request, as JSON text.
    let chatBody: Data
    /// Whether the client asked for a stream.
    let stream: Bool
    /// Echoed on the response object.
    let echo: [String: Any]

    /// Fields accepted as they are in chat, or with no effect on the output.
    static let known: Set<String> = [
        "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "stream", "tools",
        "tool_choice", "parallel_tool_calls", "text", "store", "metadata", "user", "previous_response_id",
        "reasoning", "truncation", "include", "stream_options", "service_tier", "prompt_cache_key", "background",
        "seed", "top_logprobs", "safety_identifier",
    ]

    /// Reads `body` (already size-checked) into a chat completion body.
    /// - Throws: `APIError` 400 naming the field that is malformed or not implemented.
    init(_ body: Data) throws(APIError) {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw .badRequest("the body must be a JSON object", param: nil)
        }
        if let unknown = object.keys.sorted().first(where: { !Self.known.contains($0) }) {
            throw .badRequest("\(unknown) is not supported by this server", param: unknown)
        }
        try Self.refuseUnimplemented(object)
        var chat: [String: Any] = [:]
        var messages: [[String: Any]] = []
        if let instructions = object["instructions"], !(instructions is NSNull) {
            guard let text = instructions as? String else { throw .badRequest("instructions must be a string", param: "instructions") }
            messages.append(["role": "system", "content": text])
        }
        messages += try Self.messages(object["input"])
        guard !messages.isEmpty else { throw .badRequest("input must not be empty", param: "input") }
        chat["messages"] = messages
        for (from, to) in [("model", "model"), ("temperature", "temperature"), ("top_p", "top_p"),
                           ("max_output_tokens", "max_tokens"), ("parallel_tool_calls", "parallel_tool_calls"),
                           ("user", "user"), ("seed", "seed")] {
            if let value = object[from], !(value is NSNull) { chat[to] = value }
        }
        if let choice = object["tool_choice"], !(choice is NSNull) { chat["tool_choice"] = try Self.toolChoice(choice) }
        if let reasoning = object["reasoning"] as? [String: Any], let effort = reasoning["effort"], !(effort is NSNull) {
            chat["reasoning_effort"] = effort
        }
        switch object["stream"] {
        case nil, is NSNull: stream = false
        case let value as Bool: stream = value
        default: throw .badRequest("stream must be a boolean", param: "stream")
        }
        // Usage always comes back, streamed or not, as the Responses API reports it.
        if stream { chat["stream"] = true; chat["stream_options"] = ["include_usage": true] }
        echo = object.filter { ["model", "instructions", "temperature", "top_p", "max_output_tokens", "tool_choice",
                                "tools", "parallel_tool_calls", "metadata", "user", "text", "reasoning"].contains($0.key) }
        // Schemas are spliced in as the client wrote them: their key order is the order the
        // grammar lays properties out in, and Foundation's JSON objects do not keep it.
        var text = try Self.serialize(chat)
        let tools = try Self.tools(object["tools"], raw: RawJSON.elements(at: ["tools"], in: body))
        if !tools.isEmpty { text.insertMember("tools", "[" + tools.joined(separator: ",") + "]") }
        if let format = try Self.responseFormat(object["text"], body: body) { text.insertMember("response_format", format) }
        chatBody = Data(text.utf8)
    }

    /// Fields that would change the output and that this server does not implement.
    static func refuseUnimplemented(_ object: [String: Any]) throws(APIError) {
        func set(_ key: String) -> Bool { object[key].map { !($0 is NSNull) } ?? false }
        if set("previous_response_id") {
            throw .badRequest("previous_response_id is not supported: this server stores no responses; send the whole conversation in input",
                              param: "previous_response_id")
        }
        if (object["background"] as? Bool) == true { throw .badRequest("background responses are not supported", param: "background") }
        if set("top_logprobs") { throw .badRequest("top_logprobs is not supported on /v1/responses", param: "top_logprobs") }
        if let truncation = object["truncation"] as? String, truncation != "disabled" {
            throw .badRequest("truncation must be disabled: a prompt longer than the context is a 400", param: "truncation")
        }
    }

    /// `input` as chat messages: a string is one user message; items are messages,
    /// function calls (merged into the assistant turn before them) and their outputs.
    static func messages(_ input: Any?) throws(APIError) -> [[String: Any]] {
        if let text = input as? String { return [["role": "user", "content": text]] }
        guard let items = input as? [Any] else { throw .badRequest("input must be a string or an array of items", param: "input") }
        var out: [[String: Any]] = []
        for case let (index, element) in items.enumerated() {
            guard let item = element as? [String: Any] else { throw .badRequest("input[\(index)] must be an object", param: "input") }
            switch item["type"] as? String ?? "message" {
            case "message":
                guard let role = item["role"] as? String, ["user", "system", "developer", "assistant"].contains(role) else {
                    throw .badRequest("input[\(index)].role must be user, system, developer or assistant", param: "input")
                }
                out.append(["role": role == "developer" ? "system" : role, "content": try content(item["content"], index)])
            case "function_call":
                guard let name = item["name"] as? String, let arguments = item["arguments"] as? String,
                      let id = (item["call_id"] ?? item["id"]) as? String else {
                    throw .badRequest("input[\(index)]: a function_call needs call_id, name and arguments", param: "input")
                }
                let call: [String: Any] = ["id": id, "type": "function", "function": ["name": name, "arguments": arguments]]
                if var last = out.last, last["role"] as? String == "assistant", last["content"] is NSNull || last["tool_calls"] != nil {
                    last["tool_calls"] = (last["tool_calls"] as? [[String: Any]] ?? []) + [call]
                    out[out.count - 1] = last
                } else {
                    out.append(["role": "assistant", "content": NSNull(), "tool_calls": [call]])
                }
            case "function_call_output":
                guard let id = item["call_id"] as? String, let output = item["output"] as? String else {
                    throw .badRequest("input[\(index)]: a function_call_output needs call_id and output (a string)", param: "input")
                }
                out.append(["role": "tool", "tool_call_id": id, "content": output])
            case "reasoning":
                continue  // earlier reasoning: chat templates drop it from past turns too
            case let kind:
                throw .badRequest("input[\(index)]: items of type \(kind) are not supported", param: "input")
            }
        }
        return out
    }

    /// A message's content as text: a string, or text parts joined.
    static func content(_ value: Any?, _ index: Int) throws(APIError) -> String {
        if let text = value as? String { return text }
        guard let parts = value as? [Any] else { throw .badRequest("input[\(index)].content must be a string or an array", param: "input") }
        var text = ""
        for part in parts {
            guard let part = part as? [String: Any], let kind = part["type"] as? String,
                  ["input_text", "output_text", "text"].contains(kind), let piece = part["text"] as? String else {
                throw .badRequest("input[\(index)].content: only input_text and output_text parts are supported", param: "input")
            }
            text += piece
        }
        return text
    }

    /// Function tools in chat's shape, with each `parameters` schema as the client wrote it.
    static func tools(_ value: Any?, raw: [String]) throws(APIError) -> [String] {
        guard let value, !(value is NSNull) else { return [] }
        guard let tools = value as? [Any] else { throw .badRequest("tools must be an array", param: "tools") }
        return try tools.enumerated().map { index, element throws(APIError) in
            guard let tool = element as? [String: Any], tool["type"] as? String == "function" else {
                throw .badRequest("tools[\(index)]: only function tools are supported", param: "tools")
            }
            guard let name = tool["name"] as? String else { throw .badRequest("tools[\(index)].name is required", param: "tools") }
            var function: [String: Any] = ["name": name]
            if let description = tool["description"] as? String { function["description"] = description }
            if let strict = tool["strict"] as? Bool { function["strict"] = strict }
            var text = try serialize(function)
            if index < raw.count, let parameters = RawJSON.member(at: ["parameters"], in: Data(raw[index].utf8)),
               parameters != "null" {
                text.insertMember("parameters", parameters)
            }
            return #"{"type":"function","function":"# + text + "}"
        }
    }

    /// `tool_choice` in chat's shape: the same words, or a named function.
    static func toolChoice(_ value: Any) throws(APIError) -> Any {
        if let word = value as? String { return word }
        guard let choice = value as? [String: Any], choice["type"] as? String == "function", let name = choice["name"] as? String else {
            throw .badRequest("tool_choice must be auto, none, required or {\"type\": \"function\", \"name\": …}", param: "tool_choice")
        }
        return ["type": "function", "function": ["name": name]]
    }

    /// `text.format` as chat's `response_format`, with the schema as the client wrote it.
    static func responseFormat(_ value: Any?, body: Data) throws(APIError) -> String? {
        guard let text = value as? [String: Any], let format = text["format"] as? [String: Any] else {
            if let value, !(value is NSNull), !(value is [String: Any]) { throw .badRequest("text must be an object", param: "text") }
            return nil
        }
        switch format["type"] as? String {
        case "text": return nil
        case "json_object": return #"{"type":"json_object"}"#
        case "json_schema":
            guard let schema = RawJSON.member(at: ["text", "format", "schema"], in: body), schema.hasPrefix("{") else {
                throw .badRequest("text.format.schema must be a JSON schema object", param: "text.format.schema")
            }
            var inner: [String: Any] = ["name": format["name"] as? String ?? "response"]
            if let strict = format["strict"] as? Bool { inner["strict"] = strict }
            var spec = try serialize(inner)
            spec.insertMember("schema", schema)
            return #"{"type":"json_schema","json_schema":"# + spec + "}"
        default:
            throw .badRequest("text.format.type must be text, json_object or json_schema", param: "text.format")
        }
    }

    static func serialize(_ object: [String: Any]) throws(APIError) -> String {
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            throw .badRequest("the request holds values that are not JSON", param: nil)
        }
        return String(decoding: data, as: UTF8.self)
    }
}

extension String {
    /// Adds `"name": raw` to a serialized JSON object (`{…}`), `raw` being JSON text.
    mutating func insertMember(_ name: String, _ raw: String) {
        guard hasSuffix("}") else { return }
        removeLast()
        self += (count > 1 ? "," : "") + "\"\(name)\":" + raw + "}"
    }
}

extension ResponsesRequest {
    /// Chat's parameter names as the Responses API calls them, for errors the chat route
    /// raises on the converted request.
    static let paramNames = ["max_tokens": "max_output_tokens", "messages": "input", "response_format": "text.format",
                             "reasoning_effort": "reasoning.effort"]
}
