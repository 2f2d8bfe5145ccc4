public import CorralCore
import Foundation

extension LlamaModel {
    /// Renders a chat request through the model's template with llama.cpp's chat layer, as
    /// llama-server does: the prompt, the grammar that holds tool calls to their schemas
    /// (lazy for `auto`, from the first token for `required` and a named function), the
    /// tokens and stops the format needs, and a parser for the output. A template without
    /// native tool support gets llama.cpp's generic format.
    /// - Throws: `.chatTemplate` when the template cannot render the request.
    public func renderChat(_ request: ChatRequest) throws(LlamaError) -> ChatPlan {
        let planJSON = try chatTemplates.prepare(Self.requestJSON(request), vocab: vocab)
        guard let plan = try? JSONDecoder().decode(PlanJSON.self, from: Data(planJSON.utf8)) else {
            throw .chatTemplate("the chat layer returned a plan that does not decode")
        }
        let calling = !request.tools.isEmpty && request.toolChoice != .none
        let grammar = calling && !plan.grammar.isEmpty
            ? GrammarSpec(text: plan.grammar, lazy: plan.grammar_lazy, triggerPatterns: plan.trigger_patterns,
                          triggerTokens: plan.trigger_tokens, prefill: plan.generic ? [] : plan.grammar_prefill)
            : nil
        let thinking = plan.thinking_start.isEmpty || plan.thinking_end.isEmpty ? nil
            : ThinkingSection(start: plan.thinking_start, ends: plan.thinking_end, prefill: plan.grammar_prefill)
        let parseReasoning = request.parseReasoning
        return ChatPlan(
            prompt: plan.prompt, format: plan.format, grammar: grammar, additionalStops: plan.additional_stops,
            shownSpecialTokens: Set(plan.preserved_tokens), thinking: thinking,
            needsParsing: calling || (thinking != nil && parseReasoning),
            makeParser: { () throws(ChatParseError) -> any ChatOutputParser in
                try LlamaChatParser(plan: planJSON, parseReasoning: parseReasoning)
            })
    }

    /// The chat template in use: the GGUF's, or the override.
    public var chatTemplateSource: String { chatTemplates.source }

    /// What llama.cpp's chat layer reports about the template: the tool-call format a
    /// request with tools gets, whether the template describes tools itself (otherwise the
    /// generic format is used), and whether it has a thinking section.
    public var chatCapabilities: ChatCapabilities {
        let probe = ChatRequest(messages: [ChatMessage(role: "user", content: "x")],
                                tools: [ToolDefinition(name: "probe", parameters: #"{"type":"object","properties":{}}"#)])
        let plan = try? renderChat(probe)
        return ChatCapabilities(toolCallFormat: plan?.format ?? "unavailable",
                                nativeTools: chatTemplates.capabilities["supports_tool_calls"] ?? false,
                                thinking: plan?.thinking != nil)
    }

    /// The request as `corral_chat_prepare` reads it: OpenAI's message and tool JSON. A
    /// named `tool_choice` offers only that function and requires a call to it. Each tool's
    /// parameters go in as the client's text, keys in order.
    static func requestJSON(_ request: ChatRequest) -> String {
        let encoder = JSONEncoder()
        func quoted(_ text: String) -> String {
            String(decoding: (try? encoder.encode(text)) ?? Data(#""""#.utf8), as: UTF8.self)
        }
        var tools = request.tools
        var choice = "auto"
        switch request.toolChoice {
        case .none: choice = "none"
        case .auto: choice = "auto"
        case .required: choice = "required"
        case .function(let name):
            tools = tools.filter { $0.name == name }
            choice = "required"
        }
        let messages = request.messages.map(MessageJSON.init)
        let messagesText = String(decoding: (try? encoder.encode(messages)) ?? Data("[]".utf8), as: UTF8.self)
        let toolsText = tools.map { tool in
            var function = #""name":"# + quoted(tool.name)
            if let description = tool.description { function += #","description":"# + quoted(description) }
            if let parameters = tool.parameters { function += #","parameters":"# + parameters }
            return #"{"type":"function","function":{"# + function + "}}"
        }.joined(separator: ",")
        return #"{"messages":"# + messagesText
            + (tools.isEmpty ? "" : #","tools":["# + toolsText + "]")
            + #","tool_choice":"# + quoted(choice)
            + #","parallel_tool_calls":"# + (request.parallelToolCalls ? "true" : "false")
            + #","reasoning_format":"# + quoted(request.parseReasoning ? "deepseek" : "none")
            + #","enable_thinking":"# + (request.enableThinking ? "true" : "false")
            + (request.reasoningEffort.map { #","reasoning_effort":"# + quoted($0) } ?? "") + "}"
    }

    /// One message in OpenAI's JSON.
    private struct MessageJSON: Encodable {
        struct Call: Encodable {
            struct Function: Encodable { var name: String; var arguments: String }
            var id: String
            var type = "function"
            var function: Function
        }
        var role: String
        var content: String?
        var tool_calls: [Call]?
        var tool_call_id: String?
        var reasoning_content: String?

        init(_ m: ChatMessage) {
            role = m.role
            content = m.content.isEmpty && !m.toolCalls.isEmpty ? nil : m.content
            tool_calls = m.toolCalls.isEmpty ? nil
                : m.toolCalls.map { Call(id: $0.id, function: .init(name: $0.name, arguments: $0.arguments)) }
            tool_call_id = m.toolCallID
            reasoning_content = m.reasoningContent
        }
    }

    /// The plan as `corral_chat_prepare` writes it.
    private struct PlanJSON: Decodable {
        var prompt: String
        var format: String
        /// The generic format's grammar is the reply alone, not the turn's opening.
        var generic: Bool
        var grammar: String
        var grammar_lazy: Bool
        var trigger_patterns: [String]
        var trigger_tokens: [Token]
        var preserved_tokens: [Token]
        var grammar_prefill: [Token]
        var additional_stops: [String]
        var thinking_start: [Token]
        var thinking_end: [[Token]]
    }
}
