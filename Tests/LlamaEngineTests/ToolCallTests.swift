import LlamaEngine
import CorralCore
import Foundation
import Testing

/// Tool calling through llama.cpp's chat layer: the plan (prompt, grammar, triggers) and
/// the parser that reads calls back.
@Suite("Tool calls", .serialized)
struct ToolCallTests {
    static let weather = ToolDefinition(name: "get_weather", description: "Get the weather",
        parameters: #"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#)

    @Test func debugHermes() throws {
        let template = try String(contentsOfFile: ProcessInfo.processInfo.environment["TPL"] ?? "tests/templates/hermes.jinja", encoding: .utf8)
        let model = try LlamaModel(path: TestModels.smolPath, options: .init(gpuLayers: 0, chatTemplate: template))
        let plan = try model.renderChat(ChatRequest(messages: [ChatMessage(role: "user", content: "Weather in Paris?")],
                                                               tools: [Self.weather], toolChoice: .required))
        print("FORMAT", plan.format, "GRAMMAR", plan.grammar as Any, "PROMPT", plan.prompt)
        let plain = try model.renderChat(ChatRequest(messages: [ChatMessage(role: "user", content: "Weather in Paris?")]))
        print("THINKING", plain.thinking as Any, plain.needsParsing, plain.prompt)
        let parser = try plain.makeParser()
        print(try parser.update("I think hard\n</think>\n\nThe answer", final: false))
        print(try parser.update(" is 4.", final: true), parser.message)
    }

    @Test func debugPlan() throws {
        let plan = try TestModels.smol.renderChat(ChatRequest(messages: [ChatMessage(role: "user", content: "Weather in Paris?")],
                                                               tools: [Self.weather], toolChoice: .required))
        print("FORMAT", plan.format, "GRAMMAR", plan.grammar as Any, "PROMPT", plan.prompt)
    }
}
