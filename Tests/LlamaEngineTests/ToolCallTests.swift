import CorralCore
import Foundation
import LlamaEngine
import Testing

/// Tool calling through llama.cpp's chat layer: the plan (prompt, grammar, triggers) and
/// the parser that reads calls back, for the generic format and a native one.
@Suite("Tool calls", .serialized)
struct ToolCallTests {
    static let weather = ToolDefinition(name: "get_weather", description: "Get the weather",
        parameters: #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#)
    static let ask = [ChatMessage(role: "user", content: "Weather in Paris?")]

    /// SmolLM2 with one of the checked-in templates in pytests/templates.
    static func model(template name: String) throws -> LlamaModel {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../pytests/templates/\(name).jinja")
        return try LlamaModel(path: TestModels.smolPath,
                              options: .init(gpuLayers: 0, chatTemplate: try String(contentsOf: file, encoding: .utf8)))
    }

    @Test func aTemplateWithoutToolsGetsTheGenericFormat() throws {
        let plan = try TestModels.smol.renderChat(ChatRequest(messages: Self.ask, tools: [Self.weather], toolChoice: .required))
        #expect(plan.format == "generic" && plan.needsParsing)
        let grammar = try #require(plan.grammar)
        #expect(!grammar.lazy && grammar.prefill.isEmpty && grammar.text.contains("get_weather"))
        #expect(plan.prompt.contains("get_weather") && plan.prompt.contains("Get the weather"))
        #expect(TestModels.smol.chatCapabilities == ChatCapabilities(toolCallFormat: "generic", nativeTools: false, thinking: false))
    }

    @Test func theGenericReplyIsReadBack() throws {
        let plan = try TestModels.smol.renderChat(ChatRequest(messages: Self.ask, tools: [Self.weather]))
        let parser = try plan.makeParser()
        #expect(try parser.update(#"{"tool_calls": [{"name": "get_weather", "#, final: false).isEmpty)
        let deltas = try parser.update(#""arguments": {"city": "Paris"}}]}"#, final: true)
        let call = try #require(parser.message.toolCalls.first)
        #expect(call.name == "get_weather" && call.arguments == #"{"city":"Paris"}"# && call.id.hasPrefix("call_"))
        #expect(deltas == [.toolCall(index: 0, id: call.id, name: "get_weather", arguments: call.arguments)])

        // An answer streams as it comes, up to the last whole character or escape.
        let answer = try plan.makeParser()
        #expect(try answer.update(#"{"response": "It is"#, final: false) == [.content("It is")])
        #expect(try answer.update(#" sunny \u00e9t\u00"#, final: false) == [.content(" sunny ét")])
        #expect(try answer.update(#"e9 \ud83d"#, final: false) == [.content("é ")])
        #expect(try answer.update(#"\ude00."}"#, final: true) == [.content("😀.")])
        #expect(answer.message == ParsedChatMessage(content: "It is sunny été 😀."))
    }

    @Test func hermesIsLazyUntilItsOpenerAndStreamsTheArguments() throws {
        let model = try Self.model(template: "hermes")
        let auto = try model.renderChat(ChatRequest(messages: Self.ask, tools: [Self.weather]))
        let lazy = try #require(auto.grammar)
        #expect(lazy.lazy && lazy.triggerPatterns.contains { $0.contains("tool_call") })
        #expect(auto.prompt.contains("<tools>"))
        let required = try #require(try model.renderChat(ChatRequest(messages: Self.ask, tools: [Self.weather], toolChoice: .required)).grammar)
        #expect(!required.lazy && !required.prefill.isEmpty)
        // Required calls come first (no free text before them), and with parallel calls off
        // one call block is all the grammar allows.
        let root = required.text.split(separator: "\n").first { $0.hasPrefix("root ::=") } ?? ""
        #expect(!root.isEmpty && !root.contains("until") && required.text.contains("(tool-call space)+"))
        let single = try #require(try model.renderChat(ChatRequest(messages: Self.ask, tools: [Self.weather], toolChoice: .required,
                                                                    parallelToolCalls: false)).grammar)
        #expect(!single.text.contains("(tool-call space)+") && single.text.contains("tool-calls ::= tool-call space"))
        #expect(model.chatCapabilities.nativeTools)

        let parser = try auto.makeParser()
        var deltas = try parser.update("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"ci", final: false)
        deltas += try parser.update("ty\": \"Paris\"}}\n</tool_call>", final: true)
        #expect(parser.message.content.trimmingCharacters(in: .whitespacesAndNewlines) == "Let me check.")
        let call = try #require(parser.message.toolCalls.first)
        let arguments = try JSONSerialization.jsonObject(with: Data(call.arguments.utf8)) as? [String: String]
        #expect(call.name == "get_weather" && arguments == ["city": "Paris"])
        let pieces = deltas.compactMap { delta -> (String?, String)? in
            if case .toolCall(_, let id, _, let arguments) = delta { return (id, arguments) }
            return nil
        }
        #expect(pieces.count >= 2 && pieces[0].0 == call.id && pieces.dropFirst().allSatisfy { $0.0 == nil })
        #expect(pieces.map(\.1).joined() == call.arguments)
    }

    @Test func aNamedChoiceOffersOnlyThatFunction() throws {
        let time = ToolDefinition(name: "get_time", parameters: #"{"type":"object","properties":{}}"#)
        let plan = try Self.model(template: "hermes").renderChat(
            ChatRequest(messages: Self.ask, tools: [Self.weather, time], toolChoice: .function("get_time")))
        let grammar = try #require(plan.grammar)
        #expect(grammar.text.contains("get_time") && !grammar.text.contains("get_weather"))
    }

    @Test func toolHistoryIsRendered() throws {
        let history = Self.ask + [
            ChatMessage(role: "assistant", content: "", toolCalls: [ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)]),
            ChatMessage(role: "tool", content: "18 degrees", toolCallID: "call_1"),
        ]
        let prompt = try Self.model(template: "hermes").renderChat(ChatRequest(messages: history, tools: [Self.weather])).prompt
        #expect(prompt.contains("<tool_call>") && prompt.contains("Paris") && prompt.contains("<tool_response>\n18 degrees"))
        let generic = try TestModels.smol.renderChat(ChatRequest(messages: history, tools: [Self.weather])).prompt
        #expect(generic.contains(#""tool_calls""#) && generic.contains("18 degrees"))
    }

    @Test func aThinkingTemplateSplitsReasoningFromTheAnswer() throws {
        let model = try Self.model(template: "thinking")
        let plan = try model.renderChat(ChatRequest(messages: Self.ask))
        let thinking = try #require(plan.thinking)
        #expect(!thinking.start.isEmpty && !thinking.ends.isEmpty && plan.needsParsing)
        let parser = try plan.makeParser()
        let first = try parser.update("I think hard\n</think>\n\nThe answer", final: false)
        #expect(first == [.reasoning("I think hard\n"), .content("The answer")])
        _ = try parser.update(" is 4.", final: true)
        #expect(parser.message == ParsedChatMessage(content: "The answer is 4.", reasoningContent: "I think hard\n"))

        let inline = try model.renderChat(ChatRequest(messages: Self.ask, parseReasoning: false))
        #expect(!inline.needsParsing)
        #expect(try model.renderChat(ChatRequest(messages: Self.ask, reasoningEffort: "low")).prompt.contains("Reasoning: low"))
        #expect(!plan.prompt.contains("Reasoning:"))
    }
}
