import Foundation
import Hummingbird
import CorralCore
import Logging
import Scheduler

/// Serves chat and text completions: turns a validated request into scheduler requests,
/// one per choice, and their events into OpenAI responses or SSE streams.
struct CompletionHandler: Sendable {
    let state: ModelState
    let config: ServerConfig
    let metrics: ServingMetrics
    let logger: Logger
    /// The tenants' quotas, shared by every route.
    let limiter: TenantLimiter

    /// With `NIM_DISABLE_LOG_REQUESTS=0`, logs a prompt or a completion under the request
    /// id; otherwise nothing, so text never reaches the logs by default.
    func logText(_ kind: String, _ text: @autoclosure () -> String, _ request: Request) {
        guard config.logPrompts else { return }
        logger.info("\(kind)", metadata: [
            "request_id": "\(request.headers[RequestIDMiddleware<BasicRequestContext>.header] ?? "")",
            "text": "\(text())"])
    }

    /// Runs a route that queues work, counting in `request_failure_total` (labelled with
    /// `endpoint`) the requests refused before they were queued; the scheduler counts
    /// those that fail later.
    func counting(_ endpoint: RequestEndpoint, _ route: () async throws -> Response) async throws -> Response {
        do {
            return try await route()
        } catch let error as APIError where !error.countedByScheduler {
            metrics.refused(Self.reason(error.status), endpoint: endpoint.rawValue)
            throw error
        } catch let error as APIError {
            throw error
        } catch {
            metrics.refused(.error, endpoint: endpoint.rawValue)
            throw error
        }
    }

    /// The `stats` object for these choices, when per-request stats are on.
    func stats(_ summaries: [GenerationSummary]) -> RequestStats? {
        config.perRequestStats ? RequestStats(summaries) : nil
    }

    static func reason(_ status: HTTPResponse.Status) -> ServingMetrics.FailureReason {
        switch status.code {
        case 429: .overload
        case 400..<500: .badRequest
        default: .error
        }
    }

    /// The engine, for a generation route: an embedding model answers a 400 that says
    /// what it serves instead.
    func generationEngine() throws(APIError) -> ServingEngine {
        let engine = try state.readyEngine()
        guard engine.serves.generation else {
            throw .badRequest("the model '\(engine.servedName)' is an embedding model: it serves /v1/embeddings, not generation",
                              param: "model")
        }
        return engine
    }

    /// The model a request runs: the base model, or one of its LoRA adapters by name.
    struct ModelChoice: Sendable {
        /// The name responses carry (the one the client sent, or the base's).
        var name: String
        /// The adapter's engine id; 0 for the base model.
        var adapter: Int
    }

    /// Resolves the requested model name: the served model, a loaded LoRA adapter of it,
    /// or a 404 (an adapter being removed is already gone from the list). Every route that
    /// takes a `model` resolves it here.
    static func resolveModel(_ name: String?, _ engine: ServingEngine) throws(APIError) -> ModelChoice {
        guard let name, name != engine.servedName else { return ModelChoice(name: engine.servedName, adapter: 0) }
        guard let adapter = engine.adapters.adapter(named: name) else { throw .modelNotFound(name) }
        return ModelChoice(name: name, adapter: adapter.loaded.id)
    }

    /// The caller's tenant: its key's, or `default` without a keys file.
    func tenant(of request: Request) -> Tenant {
        config.keys?.tenant(for: request) ?? config.keys?.tenants[Tenant.defaultName] ?? Tenant(name: Tenant.defaultName)
    }

    /// Submits every prompt's choices (sibling choices share their prompt's KV) for the
    /// caller's tenant, within its quotas; if one group is refused, the groups already queued
    /// are cancelled with it.
    /// - Parameters:
    ///   - promptParam: the request field holding the prompt, for error messages.
    ///   - priority: the request's own `priority`; the tenant's is the default and the cap.
    ///   - model: the base model or adapter the requests run under.
    func submit(_ groups: [[GenerationRequest]], to engine: ServingEngine, model: ModelChoice, promptParam: String,
                for request: Request, priority: Int?) throws(APIError) -> AsyncStream<(Int, GenerationEvent)> {
        // Every prompt is checked before any is queued, so a list of prompts fails whole. The
        // choices of one prompt differ only in their seed: checking the first checks all.
        for request in groups.compactMap(\.first) {
            do { try engine.scheduler.validate(request) } catch { throw APIError(error, promptParam: promptParam) }
        }
        let tenant = tenant(of: request)
        let endpoint = RequestEndpoint.label(request.uri.path)
        let groups = groups.map { $0.map { r in
            var r = r
            r.endpoint = endpoint
            r.tenant = tenant.name
            r.tenantWeight = tenant.weight
            r.priority = max(priority ?? tenant.priority, tenant.priority)
            r.adapter = model.adapter
            return r
        } }
        let lease = try quota(for: tenant, groups, endpoint: endpoint)
        var streams: [AsyncStream<GenerationEvent>] = []
        for group in groups {
            do { streams += try engine.scheduler.submit(choices: group) } catch {
                streams.removeAll()  // dropping a stream cancels its request
                lease?.settle(used: 0)
                throw APIError(error, promptParam: promptParam)
            }
        }
        if model.adapter != 0 { metrics.lora.requested(model.name, count: streams.count) }
        return mergeChoices(streams, promptTokens: groups.flatMap { $0.map(\.prompt.count) }, lease: lease)
    }

    /// Takes the tenant's quota for every choice's prompt and `max_tokens`.
    private func quota(for tenant: Tenant, _ groups: [[GenerationRequest]],
                       endpoint: String) throws(APIError) -> TenantLimiter.Lease? {
        let choices = groups.reduce(0) { $0 + $1.count }
        let tokens = groups.joined().reduce(0) { $0 + $1.prompt.count + $1.maxTokens }
        do {
            return try limiter.acquire(tenant, choices: choices, tokens: tokens)
        } catch {
            switch error {
            case .neverFits(let why):
                throw .badRequest(why, param: "max_tokens")
            case .overLimit(let limit, let message, let retryAfter):
                metrics.tenants.rejected(tenant.name, limit: limit, endpoint: endpoint)
                var refusal = APIError(.tooManyRequests, message, type: "rate_limit_error", code: limit)
                refusal.extraHeaders[.retryAfter] = String(retryAfter)
                throw refusal
            }
        }
    }

    /// Runs choices to completion for a non-streaming response.
    func collect(_ events: AsyncStream<(Int, GenerationEvent)>, count: Int) async throws(APIError) -> [ChoiceAccumulator] {
        var choices = Array(repeating: ChoiceAccumulator(), count: count)
        for await (index, event) in events { choices[index].apply(event) }
        if let error = choices.compactMap(\.error).first {
            var failure = APIError(error)
            failure.countedByScheduler = true
            throw failure
        }
        return choices
    }

    /// Builds a Server-Sent Events response. `render` turns one event into zero or more
    /// JSON payloads; usage and errors are framed here, and the stream always ends with
    /// `data: [DONE]`.
    /// - Parameter perPrompt: choices per prompt (n), for counting cached prompt tokens once.
    func sse(_ events: AsyncStream<(Int, GenerationEvent)>, choices: Int, perPrompt: Int = 1, promptTokens: Int, includeUsage: Bool,
             render: @escaping @Sendable (Int, GenerationEvent, JSONEncoder) throws -> [Data],
             usageChunk: @escaping @Sendable (Usage, JSONEncoder) throws -> Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init { writer in
            let encoder = JSONEncoder()
            encoder.outputFormatting = .withoutEscapingSlashes
            var completion = [Int](repeating: 0, count: choices)
            var cached = [Int](repeating: 0, count: choices)
            var failure: SchedulerError?
            for await (index, event) in events {
                switch event {
                case .failed(let error): failure = failure ?? error
                case .finished(let s):
                    completion[index] = s.completionTokens
                    cached[index] = s.cachedTokens
                case .delta: break
                }
                for payload in try render(index, event, encoder) {
                    try await writer.write(Self.frame(payload))
                }
            }
            if let failure {
                try await writer.write(Self.frame(APIError(failure).json))
            } else if includeUsage {
                let usage = Usage(prompt: promptTokens, completion: completion.reduce(0, +),
                                  cached: Usage.cachedTokens(cached, perPrompt: perPrompt))
                try await writer.write(Self.frame(try usageChunk(usage, encoder)))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        })
    }

    /// One Server-Sent Event. Kept by hand rather than through swift-openapi-runtime's SSE
    /// encoder: every event here is one `data:` line of compact JSON (never multi-line, no
    /// id or retry fields), so the library would add only an async-sequence adapter and a
    /// copy per token on the hottest path. The bench client does use its decoder.
    static func frame(_ json: Data) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(json.count + 8)
        buffer.writeString("data: ")
        buffer.writeBytes(json)
        buffer.writeString("\n\n")
        return buffer
    }

    /// A JSON response.
    static func json(_ value: some Encodable) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

