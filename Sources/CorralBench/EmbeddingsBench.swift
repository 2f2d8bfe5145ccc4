import AsyncHTTPClient
import CorralCore
import Foundation
import NIOCore

/// Embedding throughput: closed-loop clients, each sending `/v1/embeddings` requests of
/// `batch` inputs of exactly `inputTokens` tokens back to back. Reports inputs and tokens
/// per second (the server's `usage.prompt_tokens`) and request latency, per concurrency.
public struct EmbeddingsBench: Sendable {
    /// The workload's shape.
    public struct Shape: Sendable {
        /// Tokens per input (exact where the server has `/tokenize`).
        public var inputTokens = 128
        /// Inputs per request.
        public var batch = 1
        /// Measured requests per load point, per client (at least 8 requests in all).
        public var requestsPerClient = 4
        /// Unmeasured requests before each load point.
        public var warmup = 2

        /// The defaults.
        public init() {}
    }

    /// One load point's figures.
    public struct Result: Sendable, Codable {
        /// The target's name.
        public var target: String
        /// Clients sending at once.
        public var concurrency: Int
        /// Measured requests, and those that failed.
        public var requests: Int
        public var failed: Int
        /// Inputs and their tokens (as the server counted them), in all.
        public var inputs: Int
        public var tokens: Int
        /// Wall time of the measured requests.
        public var seconds: Double
        /// Request latency (sending to the whole response).
        public var latency: LatencySummary?
        /// Whether every input had exactly the asked token count.
        public var exactInput: Bool

        enum CodingKeys: String, CodingKey {
            case target, concurrency, requests, failed, inputs, tokens, seconds, latency
            case exactInput = "exact_input"
        }

        /// Inputs embedded per second.
        public var inputsPerSecond: Double { seconds > 0 ? Double(inputs) / seconds : 0 }
        /// Input tokens embedded per second.
        public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
    }

    /// The workload.
    public var shape: Shape
    /// The server's client.
    public var client: BenchClient

    /// Creates a run of `shape` against `client`'s server.
    public init(shape: Shape, client: BenchClient) {
        self.shape = shape
        self.client = client
    }

    /// Runs one load point of `concurrency` clients.
    public func run(name: String, concurrency: Int, promptOffset: Int = 0) async -> Result {
        let factory = PromptFactory(client: client)
        // A pool of distinct inputs, one request's worth per client and some over.
        var pool: [String] = []
        var exact = true
        for i in 0..<max(shape.batch * (concurrency + 1), 8) {
            let p = await factory.prompt(tokens: shape.inputTokens, index: promptOffset + i)
            pool.append(p.text)
            exact = exact && p.exact
        }
        let inputs = pool, batch = shape.batch
        @Sendable func body(_ n: Int) -> [String] { (0..<batch).map { inputs[(n * batch + $0) % inputs.count] } }
        for w in 0..<shape.warmup { _ = await send(body(w)) }
        let perClient = max(shape.requestsPerClient, (8 + concurrency - 1) / concurrency)
        let began = ContinuousClock.now
        let samples = await withTaskGroup(of: [(Double, Int, Bool)].self) { group in
            for c in 0..<concurrency {
                group.addTask {
                    var mine: [(Double, Int, Bool)] = []
                    for k in 0..<perClient { mine.append(await send(body(c * perClient + k))) }
                    return mine
                }
            }
            var all: [(Double, Int, Bool)] = []
            for await part in group { all += part }
            return all
        }
        let seconds = (ContinuousClock.now - began).seconds
        let ok = samples.filter(\.2)
        return Result(target: name, concurrency: concurrency, requests: samples.count, failed: samples.count - ok.count,
                      inputs: ok.count * shape.batch, tokens: ok.reduce(0) { $0 + $1.1 }, seconds: seconds,
                      latency: BenchStatistics.summary(ok.map(\.0)), exactInput: exact)
    }

    /// One request: (seconds, prompt tokens the server counted, success).
    func send(_ inputs: [String]) async -> (Double, Int, Bool) {
        let sent = ContinuousClock.now
        do {
            let req = try client.request("/v1/embeddings", ["input": inputs, "encoding_format": "base64"])
            let response = try await benchHTTPClient.execute(req, timeout: .hours(1))
            let bytes = try await response.body.collect(upTo: 256 << 20)
            let seconds = (ContinuousClock.now - sent).seconds
            guard response.status.code == 200,
                  let object = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
                  let data = object["data"] as? [Any], data.count == inputs.count else { return (seconds, 0, false) }
            let usage = object["usage"] as? [String: Any]
            return (seconds, usage?["prompt_tokens"] as? Int ?? 0, true)
        } catch {
            return ((ContinuousClock.now - sent).seconds, 0, false)
        }
    }

    /// A Markdown table, one row per load point.
    public static func markdown(_ results: [Result], shape: Shape) -> String {
        func s(_ x: Double?) -> String { x.map { String(format: "%.3f s", $0) } ?? "-" }
        var out = "Embeddings: \(shape.batch) input(s) of \(shape.inputTokens) tokens per request, closed loop\n\n"
        out += "| target | concurrency | requests | inputs/s | tokens/s | latency p50 | p99 | failed |\n"
        out += "|---|---|---|---|---|---|---|---|\n"
        for r in results {
            out += "| \(r.target) | \(r.concurrency) | \(r.requests) | \(String(format: "%.1f", r.inputsPerSecond)) "
                + "| \(String(format: "%.0f", r.tokensPerSecond)) | \(s(r.latency?.p50)) | \(s(r.latency?.p99)) | \(r.failed) |\n"
        }
        if results.contains(where: { !$0.exactInput }) {
            out += "\nInput lengths are approximate: a target has no /tokenize.\n"
        }
        return out
    }
}
