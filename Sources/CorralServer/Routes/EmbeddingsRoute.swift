import Foundation
import Hummingbird
import CorralCore
import Scheduler

extension CompletionHandler {
    /// `POST /v1/embeddings`. Every input is one scheduler request (an embedding request:
    /// computed whole in a pooled pass, its KV freed after it), queued for the caller's
    /// tenant within its quotas like any prompt, so admission, queue limits and metrics
    /// hold for embeddings too.
    func embeddings(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await decodeJSONBody(EmbeddingsRequest.self, from: request, limit: config.maxBodyBytes)
        let engine = try state.readyEngine()
        let target = try Self.resolveModel(body.model, engine)
        let prompts = try embeddingInputs(body, engine)
        logText("prompt", "\(prompts.count) embedding inputs", request)
        let requests = prompts.map { prompt in
            var r = GenerationRequest(prompt: prompt, maxTokens: 0, queueTimeout: config.queueTimeoutIfSet)
            r.embedding = true
            return [r]
        }
        let events = try submit(requests, to: engine, model: target, promptParam: "input", for: request, priority: nil)
        let results = try await collect(events, count: prompts.count)
        let data = try results.enumerated().map { index, result throws(APIError) in
            guard let vector = result.summary?.embedding else {
                throw APIError(.internalServerError, "no vector was pooled for input \(index)", type: "server_error")
            }
            return EmbeddingObject(index: index, embedding: body.encodingFormat == .base64 ? .base64(vector) : .floats(vector))
        }
        let tokens = prompts.reduce(0) { $0 + $1.count }
        return try Self.json(EmbeddingList(data: data, model: target.name,
                                           usage: .init(prompt_tokens: tokens, total_tokens: tokens)))
    }

    /// The inputs as tokens, each within one pass (cut as `truncate` says, or a 400).
    private func embeddingInputs(_ body: EmbeddingsRequest, _ engine: ServingEngine) throws(APIError) -> [[Token]] {
        guard let pooling = engine.serves.embeddings else {
            throw .badRequest("the model '\(engine.servedName)' serves no embeddings; start a generation model with "
                              + "NIM_ENABLE_EMBEDDINGS=1 (--embeddings), or serve an embedding model", param: "model")
        }
        guard pooling != .none else {
            throw .badRequest("NIM_EMBEDDING_POOLING=none gives a vector per token, which /v1/embeddings cannot return; "
                              + "start with mean, cls or last", param: "model")
        }
        let model = engine.model
        var prompts: [[Token]]
        switch body.input {
        case .texts(let texts):
            prompts = try texts.map { text throws(APIError) in
                do { return try model.tokenize(text, addSpecial: true, parseSpecial: false) } catch {
                    throw .badRequest("input could not be tokenized: \(error)", param: "input")
                }
            }
        case .tokens(let lists):
            prompts = try lists.map { ids throws(APIError) in
                try ids.map { id throws(APIError) -> Token in
                    guard let t = Token(exactly: id), model.isValidToken(t) else {
                        throw .badRequest("token \(id) is outside the vocabulary", param: "input")
                    }
                    return t
                }
            }
        }
        let limit = engine.scheduler.maxEmbeddingTokens
        for (index, prompt) in prompts.enumerated() where prompt.count > limit {
            switch body.truncate {
            case .none:
                throw APIError(.badRequest, "input \(index) has \(prompt.count) tokens, more than the \(limit) one pass holds; "
                               + "shorten it or send truncate START or END", param: "input", code: "context_length_exceeded")
            case .start: prompts[index] = Array(prompt.suffix(limit))
            case .end: prompts[index] = Array(prompt.prefix(limit))
            }
        }
        if let index = prompts.firstIndex(where: \.isEmpty) {
            throw .badRequest("input \(index) has no tokens", param: "input")
        }
        return prompts
    }
}

/// One vector of the response, as floats or as base64 of its float32 bytes.
struct EmbeddingObject: Encodable {
    var object = "embedding"
    var index: Int
    var embedding: Vector

    init(index: Int, embedding: Vector) {
        self.index = index
        self.embedding = embedding
    }

    /// The vector as the request's `encoding_format` asks.
    enum Vector: Encodable {
        case floats([Float])
        case base64([Float])

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .floats(let v): try c.encode(v)
            case .base64(let v):
                var bytes = Data(capacity: v.count * 4)
                for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
                try c.encode(bytes.base64EncodedString())
            }
        }
    }
}

/// `/v1/embeddings`' response.
struct EmbeddingList: Encodable {
    var object = "list"
    var data: [EmbeddingObject]
    var model: String
    var usage: EmbeddingUsage

    /// Token counts: every input's tokens, as computed.
    struct EmbeddingUsage: Encodable {
        var prompt_tokens: Int
        var total_tokens: Int
    }
}
