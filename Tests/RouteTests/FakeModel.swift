import CorralCore
import CorralServer
import Logging
import Scheduler
import Synchronization

/// A model with no weights: one token per word, spelled the way `SimulatedExecutor` spells
/// its tokens ("w17 "), a plain-text chat template, and only GBNF as a constraint.
final class FakeModel: ServedModel {
    let path = "/models/fake.gguf"
    let description = "fake 1k-token model"
    let parameterCount: UInt64 = 1000
    let sizeBytes: UInt64 = 4000
    let metadata = ModelMetadata(architecture: "fake", name: "fake", trainingContextLength: 512, embeddingLength: 8,
                                 layerCount: 2, vocabSize: 1000, headCount: [2, 2], headCountKV: [1, 1],
                                 feedForwardLength: [16, 16], keyLength: 4, valueLength: 4, chatTemplate: nil)

    struct TemplateError: Error, CustomStringConvertible { let description: String }

    func tokenize(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Token] {
        text.split(whereSeparator: \.isWhitespace).map { word -> Token in
            var hash = 0
            for byte in word.utf8 { hash = (hash &* 31 &+ Int(byte)) % 9973 }
            return Token(1 + hash % 999)
        }
    }

    func detokenize(_ tokens: [Token], special: Bool) -> String {
        tokens.map { String(decoding: tokenBytes($0, special: special), as: UTF8.self) }.joined()
    }

    func tokenBytes(_ token: Token, special: Bool) -> [UInt8] { Array("w\(token) ".utf8) }

    func isValidToken(_ token: Token) -> Bool { (0..<1000).contains(token) }

    func renderChat(_ request: ChatRequest) throws -> ChatPlan {
        guard !request.messages.contains(where: { $0.role == "tool" }) else { throw TemplateError(description: "no tool role") }
        let prompt = request.messages.map { "\($0.role): \($0.content)" }.joined(separator: "\n") + "\nassistant:"
        return ChatPlan(prompt: prompt, format: "plain", grammar: nil, additionalStops: [], shownSpecialTokens: [],
                        thinking: nil, needsParsing: false, makeParser: { PlainParser() })
    }

    let chatCapabilities = ChatCapabilities(toolCallFormat: "none", nativeTools: false, thinking: false)

    /// All output is content.
    final class PlainParser: ChatOutputParser, @unchecked Sendable {
        private(set) var message = ParsedChatMessage(content: "")
        func update(_ added: String, final: Bool) throws(ChatParseError) -> [ChatDelta] {
            message.content += added
            return added.isEmpty ? [] : [.content(added)]
        }
    }

    /// Constraints converted so far, to show each request converts its constraint once.
    let conversions = Mutex(0)

    func grammar(for constraint: OutputConstraint) throws(ConstraintError) -> String {
        conversions.withLock { $0 += 1 }
        guard case .grammar(let text) = constraint else { throw ConstraintError("the fake model only takes GBNF") }
        return text
    }
}

/// A ready server over the fake model and the simulated executor.
enum FakeServer {
    static func config(maxModelLength: Int = 256) -> ServerConfig {
        ServerConfig(host: "127.0.0.1", port: 0, model: "/models/fake.gguf", cachePath: "/nonexistent", kvCapacity: 2048,
                     maxModelLength: maxModelLength, maxBatchTokens: 128, maxRunningSequences: 4, threads: 1, gpuLayers: 0)
    }

    static func ready(_ config: ServerConfig = config(), model: FakeModel = FakeModel()) -> (ServerConfig, ModelState, BatchScheduler) {
        // Sized as the engine sizes itself, over a fake gigabyte of host memory.
        let sizing = try! KVSizing.plan(config, memory: .init(onGPU: false, freeBytes: 1 << 30, totalBytes: 1 << 30, source: "test"),
                                        bytesPerToken: 64, trainedContext: 256)
        let executor = SimulatedExecutor(kvCapacity: sizing.tokens, slotCount: sizing.maxNumSeqs,
                                         maxBatchTokens: sizing.maxBatchTokens)
        let scheduler = BatchScheduler(executor: executor, config: SchedulerConfig(
            maxBatchTokens: sizing.maxBatchTokens, maxRunningSequences: sizing.maxNumSeqs,
            maxModelLength: sizing.maxModelLen))
        scheduler.start()
        let state = ModelState()
        state.set(.ready(ServingEngine(model: model, scheduler: scheduler, servedName: "fake")))
        return (config, state, scheduler)
    }

    static var logger: Logger {
        var logger = Logger(label: "route-test")
        logger.logLevel = .critical
        return logger
    }
}
