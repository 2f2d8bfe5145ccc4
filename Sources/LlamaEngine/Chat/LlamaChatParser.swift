import CLlamaCommon
import CorralCore
import Foundation

/// Reads one choice's output with llama.cpp's chat parser (the one the template's plan
/// names), as llama-server reads it: content, reasoning and tool calls, incrementally.
final class LlamaChatParser: ChatOutputParser, @unchecked Sendable {
    // One choice's stream drives it from one task at a time (see ChatOutputParser).
    private let pointer: OpaquePointer

    /// A parser for output rendered with `plan` (the JSON from `corral_chat_prepare`).
    init(plan: String, parseReasoning: Bool) throws(ChatParseError) {
        guard let parser = corral_chat_parser_new(plan, parseReasoning ? "deepseek" : "none") else {
            throw ChatParseError("the template's output parser does not load")
        }
        pointer = parser
    }

    deinit { corral_chat_parser_free(pointer) }

    func update(_ added: String, final: Bool) throws(ChatParseError) -> [ChatDelta] {
        var out: UnsafeMutablePointer<CChar>?
        let status = corral_chat_parser_update(pointer, added, final ? 1 : 0, &out)
        defer { corral_common_free(out) }
        let text = out.map { String(cString: $0) } ?? ""
        guard status == 0 else { throw ChatParseError(text) }
        guard let deltas = try? JSONDecoder().decode([Delta].self, from: Data(text.utf8)) else {
            throw ChatParseError("the parser's deltas do not decode")
        }
        return deltas.compactMap(\.delta)
    }

    var message: ParsedChatMessage {
        let raw = corral_chat_parser_message(pointer)
        defer { corral_common_free(raw) }
        let parsed = raw.flatMap { try? JSONDecoder().decode(Message.self, from: Data(String(cString: $0).utf8)) }
        return ParsedChatMessage(content: parsed?.content ?? "", reasoningContent: parsed?.reasoning_content ?? "",
                                 toolCalls: parsed?.tool_calls.map { ToolCall(id: $0.id, name: $0.name, arguments: $0.arguments) } ?? [])
    }

    /// One delta as the shim writes it.
    private struct Delta: Decodable {
        var content: String?
        var reasoning_content: String?
        var index: Int?
        var id: String?
        var name: String?
        var arguments: String?

        var delta: ChatDelta? {
            if let index { return .toolCall(index: index, id: id, name: name, arguments: arguments ?? "") }
            if let reasoning_content { return .reasoning(reasoning_content) }
            return content.map { .content($0) }
        }
    }

    private struct Message: Decodable {
        struct Call: Decodable { var id: String; var name: String; var arguments: String }
        var content: String
        var reasoning_content: String
        var tool_calls: [Call]
    }
}
