import Foundation

/// Input and output lengths of the benchmark's requests.
public struct BenchShape: Sendable, Codable, Equatable {
    /// Input (prompt) tokens.
    public var inputTokens: Int
    /// Output tokens (fixed through `ignore_eos` and `min_tokens` where the server honours them).
    public var outputTokens: Int
    /// Relative spread: each request's lengths are drawn uniformly in ±spread around these.
    public var spread: Double

    /// Creates a shape.
    public init(inputTokens: Int, outputTokens: Int, spread: Double = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.spread = spread
    }

    /// The presets of NVIDIA's Nemotron-51B table: text generation and summarization/RAG.
    public static let presets: [String: BenchShape] = [
        "128/1024": BenchShape(inputTokens: 128, outputTokens: 1024),
        "2048/128": BenchShape(inputTokens: 2048, outputTokens: 128),
    ]

    /// Parses `ISL/OSL`, e.g. `128/1024`.
    public static func parse(_ text: String) -> BenchShape? {
        if let preset = presets[text] { return preset }
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let o = Int(parts[1]), i > 0, o > 0 else { return nil }
        return BenchShape(inputTokens: i, outputTokens: o)
    }

    /// One request's lengths, drawn with `random` (a value in 0..<1 per call).
    func draw(_ random: () -> Double) -> (input: Int, output: Int) {
        guard spread > 0 else { return (inputTokens, outputTokens) }
        func jitter(_ n: Int) -> Int { max(1, Int((Double(n) * (1 + spread * (2 * random() - 1))).rounded())) }
        return (jitter(inputTokens), jitter(outputTokens))
    }

    /// `ISL/OSL` for tables.
    public var label: String { "\(inputTokens)/\(outputTokens)" }
}

/// Service-level objectives for goodput: a request counts when it meets every one set.
public struct BenchSLO: Sendable, Codable, Equatable {
    /// Time to first token, seconds.
    public var ttft: Double?
    /// Mean inter-token latency, seconds.
    public var itl: Double?
    /// End-to-end latency, seconds.
    public var e2e: Double?

    /// Creates objectives.
    public init(ttft: Double? = nil, itl: Double? = nil, e2e: Double? = nil) {
        self.ttft = ttft
        self.itl = itl
        self.e2e = e2e
    }

    /// Parses `ttft=0.5,itl=0.05,e2e=10` (seconds; a `ms` suffix is accepted).
    public static func parse(_ text: String) -> BenchSLO? {
        var slo = BenchSLO()
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=")
            guard kv.count == 2 else { return nil }
            var raw = kv[1].trimmingCharacters(in: .whitespaces)
            var scale = 1.0
            if raw.hasSuffix("ms") { raw.removeLast(2); scale = 0.001 } else if raw.hasSuffix("s") { raw.removeLast() }
            guard let v = Double(raw), v > 0 else { return nil }
            switch kv[0].trimmingCharacters(in: .whitespaces) {
            case "ttft": slo.ttft = v * scale
            case "itl", "tpot": slo.itl = v * scale
            case "e2e": slo.e2e = v * scale
            default: return nil
            }
        }
        return slo
    }

    /// Whether `result` meets every objective.
    func met(by result: RequestResult) -> Bool {
        guard result.error == nil else { return false }
        if let ttft, (result.timeToFirstToken ?? .infinity) > ttft { return false }
        if let itl, (result.meanInterTokenLatency ?? 0) > itl { return false }
        if let e2e, result.endToEnd > e2e { return false }
        return true
    }
}
