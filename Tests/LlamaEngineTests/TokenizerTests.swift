import CorralCore
import LlamaEngine
import Testing

@Suite("Tokenizer and chat template")
struct TokenizerTests {
    let model = TestModels.smol

    @Test(arguments: ["Hello, world!", "Crème brûlée à la façon de Noël", "你好，世界。日本語のテキスト",
                      "Emoji: 🦙🚀👩‍👩‍👧 done", "mixed ASCII ✓ and 🇫🇷 flags"])
    func tokenizeThenDetokenizeRoundTrips(_ text: String) throws {
        let tokens = try model.tokenize(text, addSpecial: false, parseSpecial: false)
        #expect(!tokens.isEmpty)
        #expect(model.detokenize(tokens) == text)
    }

    @Test func incrementalDetokenizationNeverSplitsACharacter() throws {
        let text = "🦙 llamas 你好 émigré 👩‍👩‍👧"
        let tokens = try model.tokenize(text, addSpecial: false, parseSpecial: false)
        var detok = IncrementalDetokenizer()
        var pieces: [String] = []
        for token in tokens { pieces.append(detok.append(model.tokenBytes(token))) }
        pieces.append(detok.flush())
        #expect(pieces.joined() == text)
        #expect(!pieces.joined().contains("\u{FFFD}"))
    }

    @Test func incrementalDetokenizerHoldsBackPartialBytes() {
        var detok = IncrementalDetokenizer()
        let llama = Array("🦙".utf8)  // four bytes
        #expect(detok.append(Array(llama[0..<1])) == "")
        #expect(detok.append(Array(llama[1..<3])) == "")
        #expect(detok.append(Array(llama[3...]) + Array("a".utf8)) == "🦙a")
        #expect(detok.append([0xE4]) == "")
        #expect(detok.flush() == "\u{FFFD}")
    }

    @Test func chatTemplateProducesChatML() throws {
        let text = try model.prompt(for: [
            ChatMessage(role: "system", content: "Be brief."),
            ChatMessage(role: "user", content: "Hi"),
        ])
        #expect(text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func metadataDescribesTheModel() {
        let m = model.metadata
        #expect(m.architecture == "llama")
        #expect(m.layerCount == 30)
        #expect(m.headCount.count == 30)
        #expect(m.headCountKV.allSatisfy { $0 == 3 })
        #expect(m.vocabSize == model.vocabSize)
        #expect(m.trainingContextLength == 8192)
    }
}
