import AsyncHTTPClient
import Foundation
import NIOCore
import OpenAPIRuntime

/// One request's measurements. Times are seconds.
public struct RequestResult: Sendable, Codable {
    /// Prompt tokens (the server's count when it reports usage).
    public var inputTokens: Int
    /// Generated tokens (the server's count when it reports usage, else content chunks).
    public var outputTokens: Int
    /// Seconds from the run's start to sending.
    public var start: Double
    /// Sending to the first generated text.
    public var timeToFirstToken: Double?
    /// Sending to the end of the stream.
    public var endToEnd: Double
    /// Why it failed, if it did.
    public var error: String?
    /// Gaps between text chunks, for inter-token latency percentiles (not in JSON).
    public var gaps: [Double] = []
    /// The `model` it named, when a run spreads requests over several (`--models`).
    public var model: String?

    enum CodingKeys: String, CodingKey {
        case inputTokens = "input_tokens", outputTokens = "output_tokens", start
        case timeToFirstToken = "ttft", endToEnd = "e2e", error, model
    }

    /// Time per output token after the first: (e2e − TTFT) / (output − 1).
    public var meanInterTokenLatency: Double? {
        guard let ttft = timeToFirstToken, outputTokens > 1 else { return nil }
        return (endToEnd - ttft) / Double(outputTokens - 1)
    }
}

/// The benchmark's HTTP client: AsyncHTTPClient's shared client keeps at most 8
/// connections per host, which would queue a 32-way sweep inside the client itself.
let benchHTTPClient: HTTPClient = {
    var config = HTTPClient.Configuration()
    config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
}()

/// Streams completions from any OpenAI-compatible server and times them.
public struct BenchClient: Sendable {
    /// The server's base URL, e.g. `http://127.0.0.1:8000`.
    public var baseURL: String
    /// The `model` field, if the server needs one.
    public var model: String?
    /// Bearer token, if the server needs one.
    public var apiKey: String?

    /// Creates a client.
    public init(baseURL: String, model: String? = nil, apiKey: String? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.model = model
        self.apiKey = apiKey
    }

    func request(_ path: String, _ body: [String: Any]) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        var body = body
        if let model { body["model"] = model }
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        return request
    }

    /// Sends one streaming completion asking for exactly `outputTokens` tokens
    /// (`ignore_eos` and `min_tokens`, which Corral, vLLM and llama-server honour).
    public func complete(prompt: String, inputTokens: Int, outputTokens: Int, startedAt origin: ContinuousClock.Instant)
        async -> RequestResult {
        let first = await attempt(prompt: prompt, inputTokens: inputTokens, outputTokens: outputTokens, origin: origin)
        // A keep-alive connection the server closed while idle fails before any byte is
        // answered; that is the pool's fault, not the server's, so send it once more.
        if let error = first.error, error.lowercased().contains("closed"), first.timeToFirstToken == nil {
            return await attempt(prompt: prompt, inputTokens: inputTokens, outputTokens: outputTokens, origin: origin)
        }
        return first
    }

    private func attempt(prompt: String, inputTokens: Int, outputTokens: Int, origin: ContinuousClock.Instant)
        async -> RequestResult {
        let sent = ContinuousClock.now
        var result = RequestResult(inputTokens: inputTokens, outputTokens: 0, start: (sent - origin).seconds,
                                   timeToFirstToken: nil, endToEnd: 0)
        result.model = model
        var chunks = 0
        var last = sent
        do {
            let req = try request("/v1/completions", [
                "prompt": prompt, "max_tokens": outputTokens, "min_tokens": outputTokens, "ignore_eos": true,
                "temperature": 0, "stream": true, "stream_options": ["include_usage": true]])
            let response = try await benchHTTPClient.execute(req, timeout: .hours(1))
            guard response.status.code == 200 else {
                result.error = "HTTP \(response.status.code)"
                result.endToEnd = (ContinuousClock.now - sent).seconds
                return result
            }
            // swift-openapi-runtime's SSE decoder: it splits events on bytes, so a character
            // cut across two network chunks is reassembled before it is decoded.
            let events = response.body.map { ArraySlice($0.readableBytesView) }
                .asDecodedServerSentEvents(while: { $0 != ArraySlice("[DONE]".utf8) })
            for try await sse in events {
                guard let payload = sse.data,
                      let event = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { continue }
                if let error = event["error"] as? [String: Any] {
                    result.error = "stream error: \((error["code"] as? String) ?? (error["message"] as? String) ?? "unknown")"
                }
                if let usage = event["usage"] as? [String: Any] {
                    if let c = usage["completion_tokens"] as? Int { result.outputTokens = c }
                    if let p = usage["prompt_tokens"] as? Int { result.inputTokens = p }
                }
                let choices = event["choices"] as? [[String: Any]] ?? []
                if let text = choices.first?["text"] as? String, !text.isEmpty {
                    let now = ContinuousClock.now
                    if result.timeToFirstToken == nil {
                        result.timeToFirstToken = (now - sent).seconds
                    } else {
                        result.gaps.append((now - last).seconds)
                    }
                    last = now
                    chunks += 1
                }
            }
        } catch {
            result.error = Self.reason(error)
        }
        if result.outputTokens == 0 { result.outputTokens = chunks }
        result.endToEnd = (ContinuousClock.now - sent).seconds
        if result.error == nil, result.timeToFirstToken == nil { result.error = "no tokens" }
        return result
    }

    static func reason(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("deadlineExceeded") || text.contains("timeout") { return "timeout" }
        return String(text.prefix(80))
    }

    /// The server's token count for `text` through its `/tokenize`: Corral's and vLLM's
    /// `{"prompt"}`, or llama-server's `{"content"}`; nil when it has none.
    public func countTokens(_ text: String) async -> Int? {
        for body: [String: Any] in [["prompt": text, "add_special_tokens": true], ["content": text, "add_special": true]] {
            guard let req = try? request("/tokenize", body),
                  let response = try? await benchHTTPClient.execute(req, timeout: .seconds(30)),
                  response.status.code == 200,
                  let bytes = try? await response.body.collect(upTo: 16 << 20),
                  let object = try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
                  let tokens = object["tokens"] as? [Any],
                  !tokens.isEmpty || text.isEmpty else { continue }  // llama-server answers {"prompt"} with []
            return tokens.count
        }
        return nil
    }
}


