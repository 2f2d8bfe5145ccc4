import CLlama
public import CorralCore
import Foundation

extension LlamaModel {
    /// Formats a conversation with the chat template stored in the GGUF, using llama.cpp's
    /// own template matcher (chatml, llama3 and the other built-in formats).
    /// - Parameter addAssistantPrefix: end with the tokens that open the assistant's turn.
    /// - Throws: `.chatTemplate` when the model has no template or llama.cpp cannot apply it.
    public func applyChatTemplate(_ messages: [ChatMessage], addAssistantPrefix: Bool = true) throws(LlamaError) -> String {
        guard let template = llama_model_chat_template(pointer, nil) else {
            throw .chatTemplate("the model has no chat template")
        }
        // llama_chat_message borrows C strings; keep them alive for the call.
        let roles = messages.map { strdup($0.role) }
        let contents = messages.map { strdup($0.content) }
        defer { (roles + contents).forEach { free($0) } }
        let chat = zip(roles, contents).map { llama_chat_message(role: $0, content: $1) }
        let total = messages.reduce(0) { $0 + $1.role.utf8.count + $1.content.utf8.count }
        var capacity = 2 * total + 256
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            let n = llama_chat_apply_template(template, chat, chat.count, addAssistantPrefix, &buffer, Int32(capacity))
            if n < 0 { throw .chatTemplate("the model's chat template is not one llama.cpp supports") }
            if Int(n) <= capacity {
                return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            capacity = Int(n)
        }
    }
}
