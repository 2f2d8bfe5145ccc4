public import CorralCore
import CLlama

extension LlamaModel {
    /// Tokenizes `text`.
    /// - Parameters:
    ///   - addSpecial: add BOS/EOS as the model's tokenizer config asks.
    ///   - parseSpecial: treat special-token text (such as `<|im_start|>`) as those tokens;
    ///     on for templated prompts, off for untrusted raw text.
    public func tokenize(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws(LlamaError) -> [Token] {
        let utf8 = Array(text.utf8)
        guard utf8.count < Int32.max / 2 else { throw .tokenization("text too long to tokenize") }
        var capacity = utf8.count + 8
        while true {
            var tokens = [Token](repeating: 0, count: capacity)
            let n = utf8.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    llama_tokenize(vocab, chars.baseAddress, Int32(chars.count), &tokens, Int32(capacity), addSpecial, parseSpecial)
                }
            }
            if n >= 0 { return Array(tokens.prefix(Int(n))) }
            if n == Int32.min { throw .tokenization("tokenization overflowed") }
            capacity = Int(-n)
        }
    }

    /// The raw bytes of one token. A multi-byte character may be split across tokens, so
    /// these bytes need not be valid UTF-8 on their own; see `IncrementalDetokenizer`.
    public func tokenBytes(_ token: Token, special: Bool = false) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 64)
        var n = llama_token_to_piece(vocab, token, &buffer, Int32(buffer.count), 0, special)
        if n < 0 {
            buffer = [CChar](repeating: 0, count: Int(-n))
            n = llama_token_to_piece(vocab, token, &buffer, Int32(buffer.count), 0, special)
        }
        return buffer.prefix(Int(max(n, 0))).map { UInt8(bitPattern: $0) }
    }

    /// Detokenizes a whole sequence. Invalid UTF-8 at the edges is repaired with U+FFFD.
    public func detokenize(_ tokens: [Token], special: Bool = false) -> String {
        var bytes: [UInt8] = []
        for token in tokens { bytes += tokenBytes(token, special: special) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether the token id is inside the vocabulary.
    public func isValidToken(_ token: Token) -> Bool { token >= 0 && Int(token) < vocabSize }
}
