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
        let template = try String(contentsOfFile: "tests/templates/hermes.jinja", encoding: .utf8)
        let model = try LlamaModel(path: TestModels.smolPath, options: .init(gpuLayers: 0, chatTemplate: template))
        let plan = try model.renderChat(ChatRequest(messages: [ChatMessage(role: "user", content: "Weather in Paris?")],
                                                               tools: [Self.weather], toolChoice: .auto))
        print("FORMAT", plan.format, "GRAMMAR", plan.grammar as Any, "PROMPT", plan.prompt)
    }

    @Test func debugPlan() throws {
        let plan = try TestModels.smol.renderChat(ChatRequest(messages: [ChatMessage(role: "user", content: "Weather in Paris?")],
                                                               tools: [Self.weather], toolChoice: .required))
        print("FORMAT", plan.format, "GRAMMAR", plan.grammar as Any, "PROMPT", plan.prompt)
    }
}
