import AsyncHTTPClient
import CorralCore
import Foundation
import NIOCore
import OpenAPIRuntime

/// A multi-turn chat workload, the traffic a prefix cache is for: conversations that share
/// one system prompt and resend their whole history each turn. Workers take conversations
/// one at a time and play their turns in order; each reply goes back into the history.
/// Reports first-turn and later-turn TTFT apart, since only later turns can reuse their
/// own history.
public struct MultiTurnBench: Sendable {
    /// The workload's shape.
    public struct Shape: Sendable {
        /// Conversations in all.
        public var conversations = 8
        /// Turns per conversation.
        public var turns = 4
        /// Words of the system prompt every conversation shares.
        public var systemWords = 600
        /// Words per user turn.
        public var userWords = 30
        /// Tokens per reply (exact: `ignore_eos` and `min_tokens`).
        public var replyTokens = 32
        /// Conversations in flight at once.
        public var concurrency = 4
        /// Each worker plays turn 1 of all its conversations, then turn 2 of all, and so
        /// on, so a conversation comes back after many others used the server (users who
        /// think between turns: the long tail that a host-RAM tier is for).
        public var interleave = false

        /// The defaults.
        public init() {}
    }

    /// One turn's measurements.
    public struct Turn: Sendable, Codable {
        /// Which conversation, and which turn of it (0 is the first).
        public var conversation: Int
        public var turn: Int
        /// Seconds from sending to the first generated token (its text may be empty).
        public var ttft: Double?
        /// Seconds from sending to the end of the stream.
        public var e2e: Double = 0
        /// Seconds from the run's start to sending.
        public var start: Double = 0
        /// Prompt tokens, and those the server reported as cached.
        public var promptTokens: Int
        public var cachedTokens: Int
        public var error: String?
    }

    /// A whole run against one target.
    public struct Result: Sendable, Codable {
        public var target: String
        public var turns: [Turn]
        public var wallSeconds: Double

        /// TTFT percentiles of first turns (`later` false) or later ones.
        public func ttft(later: Bool) -> LatencySummary? {
            BenchStatistics.summary(turns.filter { ($0.turn > 0) == later && $0.error == nil }.compactMap(\.ttft))
        }
        /// Prompt tokens sent, and those reported cached.
        public var promptTokens: Int { turns.reduce(0) { $0 + $1.promptTokens } }
        public var cachedTokens: Int { turns.reduce(0) { $0 + $1.cachedTokens } }
        public var failures: Int { turns.filter { $0.error != nil }.count }
    }

    public var shape: Shape
    public var client: BenchClient
    public var seed: UInt64

    /// Creates a run of `shape` against `client`'s server.
    public init(shape: Shape, client: BenchClient, seed: UInt64 = 1) {
        self.shape = shape
        self.client = client
        self.seed = seed
    }

    /// Words drawn from the prompt factory's one-token vocabulary.
    static func words(_ count: Int, rng: inout SplitMix64) -> String {
        (0..<count).map { _ in PromptFactory.words[Int(rng.next() % UInt64(PromptFactory.words.count))] }.joined(separator: " ")
    }

    /// Runs every conversation and returns what each turn saw.
    public func run(name: String) async -> Result {
        var rng = SplitMix64(seed: seed)
        let system = "You are a helpful assistant. " + Self.words(shape.systemWords, rng: &rng)
        let questions = (0..<shape.conversations).map { _ in
            (0..<shape.turns).map { _ in Self.words(shape.userWords, rng: &rng) }
        }
        let began = ContinuousClock.now
        let turns = await withTaskGroup(of: [Turn].self) { group in
            // Worker w plays conversations w, w + k, w + 2k, …: with equal conversations
            // this is the same as taking the next one free, and needs no shared state.
            let workers = max(shape.concurrency, 1)
            for w in 0..<workers {
                group.addTask {
                    var mine: [Turn] = []
                    let owned = Array(stride(from: w, to: shape.conversations, by: workers))
                    var histories = owned.map { _ in [["role": "system", "content": system]] }
                    // (conversation index in `owned`, turn) in the order this worker plays them.
                    let order = shape.interleave
                        ? (0..<shape.turns).flatMap { t in owned.indices.map { ($0, t) } }
                        : owned.indices.flatMap { i in (0..<shape.turns).map { (i, $0) } }
                    for (i, t) in order {
                        histories[i].append(["role": "user", "content": questions[owned[i]][t]])
                        let (turn, reply) = await send(histories[i], conversation: owned[i], turn: t, began: began)
                        mine.append(turn)
                        histories[i].append(["role": "assistant", "content": reply])
                    }
                    return mine
                }
            }
            var all: [Turn] = []
            for await part in group { all += part }
            return all
        }
        return Result(target: name, turns: turns.sorted { ($0.conversation, $0.turn) < ($1.conversation, $1.turn) },
                      wallSeconds: (ContinuousClock.now - began).seconds)
    }

    /// One streamed chat turn: its measurements and the reply's text. A pooled keep-alive
    /// connection the server closed while idle fails before any byte; that is the pool's
    /// doing, so the turn is sent once more (as `BenchClient.complete` does).
    func send(_ messages: [[String: String]], conversation: Int, turn: Int, began: ContinuousClock.Instant)
        async -> (Turn, String) {
        let first = await attempt(messages, conversation: conversation, turn: turn, began: began)
        if let error = first.0.error, error.lowercased().contains("closed"), first.0.ttft == nil {
            return await attempt(messages, conversation: conversation, turn: turn, began: began)
        }
        return first
    }

    private func attempt(_ messages: [[String: String]], conversation: Int, turn: Int, began: ContinuousClock.Instant)
        async -> (Turn, String) {
        let sent = ContinuousClock.now
        var result = Turn(conversation: conversation, turn: turn, ttft: nil, promptTokens: 0, cachedTokens: 0)
        result.start = (sent - began).seconds
        var reply = ""
        do {
            let req = try client.request("/v1/chat/completions", [
                "messages": messages, "max_tokens": shape.replyTokens, "min_tokens": shape.replyTokens,
                "ignore_eos": true, "temperature": 0, "stream": true, "stream_options": ["include_usage": true],
                // Logprobs make every token a chunk, so the first token is timed even when its
                // text is empty (an end-of-turn token that ignore_eos carries past).
                "logprobs": true])
            let response = try await benchHTTPClient.execute(req, timeout: .hours(1))
            guard response.status.code == 200 else {
                result.error = "HTTP \(response.status.code)"
                return (result, reply)
            }
            let events = response.body.map { ArraySlice($0.readableBytesView) }
                .asDecodedServerSentEvents(while: { $0 != ArraySlice("[DONE]".utf8) })
            for try await sse in events {
                guard let payload = sse.data,
                      let event = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { continue }
                if let usage = event["usage"] as? [String: Any] {
                    result.promptTokens = usage["prompt_tokens"] as? Int ?? 0
                    let details = usage["prompt_tokens_details"] as? [String: Any]
                    result.cachedTokens = details?["cached_tokens"] as? Int ?? 0
                }
                let choice = (event["choices"] as? [[String: Any]])?.first
                let delta = choice?["delta"] as? [String: Any]
                let text = delta?["content"] as? String ?? ""
                let tokens = (choice?["logprobs"] as? [String: Any])?["content"] as? [Any] ?? []
                if result.ttft == nil, !text.isEmpty || !tokens.isEmpty { result.ttft = (ContinuousClock.now - sent).seconds }
                reply += text
            }
        } catch {
            result.error = BenchClient.reason(error)
        }
        if result.error == nil, result.ttft == nil { result.error = "no tokens" }
        result.e2e = (ContinuousClock.now - sent).seconds
        return (result, reply)
    }

    /// A Markdown table, one row per target.
    public static func markdown(_ results: [Result]) -> String {
        func ms(_ s: Double?) -> String { s.map { String(format: "%.2f s", $0) } ?? "-" }
        var out = "| target | later-turn TTFT p50 | p90 | first-turn TTFT p50 | p90 | wall time | prompt tokens | cached (reported) | failed |\n"
        out += "|---|---|---|---|---|---|---|---|---|\n"
        for r in results {
            let later = r.ttft(later: true), first = r.ttft(later: false)
            out += "| \(r.target) | \(ms(later?.p50)) | \(ms(later?.p90)) | \(ms(first?.p50)) | \(ms(first?.p90)) "
                + "| \(String(format: "%.1f s", r.wallSeconds)) | \(r.promptTokens) | \(r.cachedTokens) | \(r.failures) |\n"
        }
        return out
    }
}
