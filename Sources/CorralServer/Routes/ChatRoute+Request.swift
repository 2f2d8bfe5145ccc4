import Foundation
import CorralCore

/// How a thinking model's reasoning is returned (`NIM_REASONING_FORMAT`).
public enum ReasoningFormat: String, Sendable, CaseIterable {
    /// In `reasoning_content`, apart from the answer.
    case split
    /// Left in `content`, with the template's tags.
    case inline
    /// Dropped.
    case hidden
}

extension ChatCompletionRequest {
    /// The request as the model's template reads it: messages, tools (each function's
    /// parameters as the client wrote them, keys in order), tool choice and reasoning.
    /// Every inconsistency is a 400 naming the field.
    func chatRequest(body: Data, reasoning: ReasoningFormat) throws(APIError) -> ChatRequest {
        // vLLM's and SGLang's reasoning switches may ask only for what NIM_REASONING_FORMAT does.
        if let include = include_reasoning, include != (reasoning != .hidden) {
            throw .badRequest("include_reasoning=\(include) differs from this server's NIM_REASONING_FORMAT=\(reasoning.rawValue)",
                              param: "include_reasoning")
        }
        if let separate = separate_reasoning, reasoning != .hidden, separate != (reasoning == .split) {
            throw .badRequest("separate_reasoning=\(separate) differs from this server's NIM_REASONING_FORMAT=\(reasoning.rawValue)",
                              param: "separate_reasoning")
        }
        let tools = tools ?? []
        var definitions: [ToolDefinition] = []
        let rawTools = RawJSON.elements(at: ["tools"], in: body)
        for (index, tool) in tools.enumerated() {
            guard !definitions.contains(where: { $0.name == tool.name }) else {
                throw .badRequest("tools: the function name '\(tool.name)' is given twice", param: "tools.\(index).function.name")
            }
            let raw = index < rawTools.count ? RawJSON.member(at: ["function", "parameters"], in: Data(rawTools[index].utf8)) : nil
            definitions.append(ToolDefinition(name: tool.name, description: tool.description,
                                              parameters: raw == "null" ? nil : raw))
        }
        let choice = tool_choice?.choice ?? .auto
        switch choice {
        case .function(let name) where !definitions.contains(where: { $0.name == name }):
            throw .badRequest("tool_choice names '\(name)', which is not in tools", param: "tool_choice")
        case .required, .function:
            if definitions.isEmpty { throw .badRequest("tool_choice requires tools", param: "tool_choice") }
        default:
            break
        }
        return ChatRequest(messages: messages.map(\.message), tools: definitions, toolChoice: choice,
                           // A named function is one call, as vLLM's guided named call.
                           parallelToolCalls: (parallel_tool_calls ?? true) && !choice.isNamedFunction,
                           parseReasoning: reasoning != .inline,
                           enableThinking: reasoning_effort != "none", reasoningEffort: reasoning_effort)
    }

    /// The most thinking tokens: NIM's `nvext.max_thinking_tokens`, else the budget for
    /// `reasoning_effort`; `nil` for no limit.
    var thinkingBudget: Int? {
        if let budget = options.nvext?.max_thinking_tokens { return budget }
        return reasoning_effort.flatMap { Self.effortBudgets[$0] ?? nil }
    }
}
