import CLlamaCommon
import CorralCore
import Foundation

/// A model's chat template, parsed once by llama.cpp's own Jinja engine (`common/chat.h`),
/// so every model family renders exactly as llama-server renders it. Rendering only reads
/// the parsed template, so one instance serves every request thread.
final class ChatTemplates: @unchecked Sendable {
    private let pointer: OpaquePointer
    /// The template text in use.
    let source: String

    /// Parses `model`'s template, or `override` when given.
    /// - Throws: `.chatTemplate` with the parser's reason.
    init(model: OpaquePointer, override: String?) throws(LlamaError) {
        var error: UnsafeMutablePointer<CChar>?
        let parsed = EngineStderr.capturing { corral_chat_templates_init(model, override, &error) }.value
        defer { corral_common_free(error) }
        guard let parsed else {
            throw .chatTemplate("the chat template does not parse: \(error.map { String(cString: $0) } ?? "unknown reason")")
        }
        pointer = parsed
        let text = corral_chat_templates_source(parsed)
        defer { corral_common_free(text) }
        source = text.map { String(cString: $0) } ?? ""
    }

    deinit { corral_chat_templates_free(pointer) }

    /// The template's capabilities, by name (`supports_tools`, `supports_tool_calls`, …).
    var capabilities: [String: Bool] {
        let raw = corral_chat_templates_caps(pointer)
        defer { corral_common_free(raw) }
        let text = raw.map { String(cString: $0) } ?? "{}"
        return (try? JSONDecoder().decode([String: Bool].self, from: Data(text.utf8))) ?? [:]
    }

    /// Renders a chat request (the JSON `corral_chat_prepare` reads) into a plan (the JSON
    /// it returns): prompt, tool-call grammar and triggers, and the output parser.
    /// - Throws: `.chatTemplate` with the renderer's reason.
    func prepare(_ requestJSON: String, vocab: OpaquePointer) throws(LlamaError) -> String {
        var out: UnsafeMutablePointer<CChar>?
        let status = corral_chat_prepare(pointer, vocab, requestJSON, &out)
        defer { corral_common_free(out) }
        let text = out.map { String(cString: $0) } ?? ""
        guard status == 0 else { throw .chatTemplate(text) }
        return text
    }
}
