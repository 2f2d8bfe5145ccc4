import CLlama
public import CorralCore
import Foundation

extension LlamaModel {
    /// Formats a conversation with the model's chat template (or the override it was
    /// loaded with), rendered by llama.cpp's Jinja engine as llama-server renders it, ending
    /// with the assistant's turn opened.
    /// - Throws: `.chatTemplate` when the template cannot render these messages.
    public func applyChatTemplate(_ messages: [ChatMessage]) throws(LlamaError) -> String {
        try chatTemplates.render(messages)
    }

    /// The chat template in use: the GGUF's, or the override.
    public var chatTemplateSource: String { chatTemplates.source }
}
