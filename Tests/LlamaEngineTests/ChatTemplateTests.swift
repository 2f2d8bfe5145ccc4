import LlamaEngine
import CorralCore
import Testing

/// Chat templates are rendered by llama.cpp's Jinja engine, from the GGUF or an override.
@Suite("Jinja chat templates", .serialized)
struct ChatTemplateTests {
    @Test func theModelsOwnTemplateRunsAsJinja() throws {
        // SmolLM2's template adds its default system prompt when none is given; llama.cpp's
        // built-in ChatML formatter would not.
        let text = try TestModels.smol.prompt(for: [ChatMessage(role: "user", content: "Hi")])
        #expect(text.hasPrefix("<|im_start|>system\n") && text.contains("SmolLM"))
        #expect(text.hasSuffix("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"))
        #expect(TestModels.smol.chatTemplateSource.contains("im_start"))
    }

    @Test func anOverrideReplacesTheModelsTemplate() throws {
        let template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"
        let model = try LlamaModel(path: TestModels.smolPath, options: .init(gpuLayers: 0, chatTemplate: template))
        let text = try model.prompt(for: [ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "U")])
        #expect(text == "[system] S\n[user] U\n[assistant]")
    }

    @Test func aTemplateThatDoesNotParseFailsTheLoad() {
        #expect { _ = try LlamaModel(path: TestModels.smolPath, options: .init(gpuLayers: 0, chatTemplate: "{% for %}")) } throws: {
            ($0 as? LlamaError)?.code == .chatTemplate
        }
    }

    @Test func aTemplateThatRaisesFailsThatRequestOnly() throws {
        let template = "{% if messages|length > 1 %}{{ raise_exception('one message only') }}{% endif %}{{ messages[0].content }}"
        let model = try LlamaModel(path: TestModels.smolPath, options: .init(gpuLayers: 0, chatTemplate: template))
        #expect(try model.prompt(for: [ChatMessage(role: "user", content: "a")]) == "a")
        #expect { try model.prompt(for: [ChatMessage(role: "user", content: "a"), ChatMessage(role: "user", content: "b")]) } throws: {
            ($0 as? LlamaError)?.code == .chatTemplate && "\($0)".contains("one message only")
        }
    }
}
