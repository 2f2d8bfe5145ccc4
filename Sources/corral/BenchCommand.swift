import ArgumentParser
import CorralBench
import Foundation

/// `corral bench`: load any OpenAI-compatible server the way NVIDIA's tables were measured
/// (closed-loop concurrency) or with Poisson arrivals, and report throughput and latency.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark OpenAI-compatible servers: throughput, TTFT, ITL, TPOT, end to end, goodput.",
        discussion: """
            Each --target is NAME=URL (or a URL). Requests use /v1/completions streaming, exactly ISL \
            prompt tokens (counted with the server's /tokenize where it has one) and exactly OSL output \
            tokens (ignore_eos + min_tokens). Prints a Markdown table; --json and --svg write files.
            """)

    @Option(name: .customLong("target"), help: "NAME=URL of a server; repeat to compare.")
    var targets: [String] = ["corral=http://127.0.0.1:8000"]
    @Option(help: "Closed-loop concurrencies, e.g. 1,8,32.")
    var concurrency = "1,8,32"
    @Option(help: "Open-loop Poisson arrival rates per second instead, e.g. 0.5,1,2.")
    var rate: String?
    @Option(help: "Shape ISL/OSL, or a preset: 128/1024, 2048/128.")
    var shape = "128/1024"
    @Option(help: "Input tokens (overrides --shape).")
    var isl: Int?
    @Option(help: "Output tokens (overrides --shape).")
    var osl: Int?
    @Option(help: "Relative spread of lengths, e.g. 0.1 for ±10%.")
    var spread = 0.0
    @Option(help: "Measured requests per load point (default: 4 × concurrency, at least 8).")
    var requests: Int?
    @Option(help: "Measured requests per load point as a multiple of the concurrency (at least 4), instead of --requests.")
    var perClient: Int?
    @Option(help: "Measure for this many seconds per load point instead of a request count.")
    var duration: Double?
    @Option(help: "Warm-up requests before each load point (not measured).")
    var warmup = 2
    @Option(help: "SLOs for goodput, e.g. ttft=0.5,itl=50ms,e2e=10.")
    var slo: String?
    @Option(help: "The model field to send.")
    var model: String?
    @Option(help: "Model names to send in equal shares instead (comma-separated, e.g. LoRA adapters), in an order shuffled per block; the report adds TTFT by model (a name given twice is kept apart as name#share).")
    var models: String?
    @Flag(help: "Closed loop: run the warm-up at the load's concurrency and the measured requests straight after it, so none meets the opening burst (steady state, as perf_analyzer measures); throughput counts from the first measured send to the last measured end.")
    var steadyState = false
    @Option(help: "API key for every target.")
    var apiKey: String?
    @Option(help: "Write the JSON result here.")
    var json: String?
    @Option(help: "Write the throughput-vs-TTFT-p99 SVG here.")
    var svg: String?
    @Option(help: "Seed for spreads and arrivals.")
    var seed: UInt64 = 1
    @Option(help: "Write the Markdown (with the ratio table for two targets) here too.")
    var markdown: String?
    @Flag(help: "A repeat-heavy workload instead of random words (what speculative decoding is for): each prompt is a code sample and \"repeat the code above exactly, with X renamed to Y\"; the output length is the code's token count unless --osl is given.")
    var rewrite = false
    @Option(help: "Rewrite: the code to repeat (a file), instead of the built-in 32-line Python sample.")
    var rewriteCode: String?
    @Flag(help: "A multi-turn chat workload instead (prefix caching): conversations sharing a system prompt, each resending its history every turn; reports first-turn and later-turn TTFT. Uses the first --concurrency value as conversations in flight.")
    var multiTurn = false
    @Option(help: "Multi-turn: conversations in all.")
    var conversations = 8
    @Option(help: "Multi-turn: turns per conversation.")
    var turns = 4
    @Option(help: "Multi-turn: words in the shared system prompt.")
    var systemWords = 600
    @Option(help: "Multi-turn: words per user turn.")
    var userWords = 30
    @Option(help: "Multi-turn: tokens per reply.")
    var replyTokens = 32
    @Flag(help: "Multi-turn: each client plays turn 1 of all its conversations, then turn 2, …, so conversations come back after many others (the long tail).")
    var interleave = false
    @Flag(help: "An embeddings workload instead: /v1/embeddings requests of --batch inputs of ISL tokens each, closed loop at each --concurrency; reports inputs/s and tokens/s.")
    var embeddings = false
    @Option(help: "Embeddings: inputs per request.")
    var batch = 1

    func run() async throws {
        if multiTurn { return try await runMultiTurn() }
        if embeddings { return try await runEmbeddings() }
        guard var benchShape = BenchShape.parse(shape) else { throw ValidationError("--shape must be ISL/OSL, e.g. 128/1024") }
        if let isl { benchShape.inputTokens = isl }
        if let osl { benchShape.outputTokens = osl }
        guard benchShape.inputTokens > 0, benchShape.outputTokens > 0 else { throw ValidationError("lengths must be positive") }
        guard (0..<1).contains(spread) else { throw ValidationError("--spread must be in [0, 1)") }
        guard !steadyState || rate == nil else { throw ValidationError("--steady-state is for a closed loop (--concurrency), not --rate") }
        benchShape.spread = spread
        var objectives: BenchSLO?
        if let slo {
            guard let parsed = BenchSLO.parse(slo) else { throw ValidationError("--slo must look like ttft=0.5,itl=50ms,e2e=10") }
            objectives = parsed
        }
        let loads = try parseList(rate ?? concurrency, name: rate == nil ? "--concurrency" : "--rate")
        var workload: RewriteWorkload?
        if rewrite || rewriteCode != nil {
            let code = try rewriteCode.map { try String(contentsOfFile: $0, encoding: .utf8) }
            let chosen = RewriteWorkload(code: code)
            let client = BenchClient(baseURL: split(targets[0]).1, model: model, apiKey: apiKey)
            if let osl {
                benchShape.outputTokens = osl
            } else if let counted = await client.countTokens(chosen.code) {
                benchShape.outputTokens = counted
            } else {
                throw ValidationError("--rewrite needs --osl with a server that has no /tokenize")
            }
            benchShape.inputTokens = await client.countTokens(chosen.prompt(index: 0)) ?? benchShape.inputTokens
            workload = chosen
        }
        let terminal = isatty(STDERR_FILENO) == 1
        var progress: (@Sendable (String) -> Void)?
        if terminal {
            progress = { line in FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
        }
        // Targets take turns at each load point, first one then the other, so slow drifts
        // of the machine (heat, background work) fall on both alike.
        let parsed = targets.map(split)
        var runs: [BenchRun] = []
        for (index, load) in loads.enumerated() {
            for (name, url) in index % 2 == 0 ? parsed : parsed.reversed() {
                let client = BenchClient(baseURL: url, model: model, apiKey: apiKey)
                let amount: BenchRunner.Amount = duration.map { .seconds($0) }
                    ?? .requests(requests ?? max(perClient == nil ? 8 : 4, (perClient ?? 4) * Int(load.rounded(.up))))
                var runner = BenchRunner(name: name, client: client, shape: benchShape, amount: amount, warmup: warmup,
                                         slo: objectives, seed: seed, progress: progress)
                runner.promptOffset = index * 100_000
                runner.rewrite = workload
                runner.models = models?.split(separator: ",").map(String.init) ?? []
                runner.steadyState = steadyState
                let run = rate == nil ? await runner.closedLoop(concurrency: Int(load)) : await runner.poisson(rate: load)
                runs.append(run)
                if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                FileHandle.standardError.write(Data(String(format: "%@ %@: %.1f output tok/s, %d/%d ok\n", name, run.load,
                                                           run.outputTokensPerSecond, run.requests - run.failed,
                                                           run.requests).utf8))
            }
        }
        let order = parsed.map(\.0)
        runs.sort { ($0.concurrency ?? 0, $0.rate ?? 0, order.firstIndex(of: $0.target) ?? 0)
            < ($1.concurrency ?? 0, $1.rate ?? 0, order.firstIndex(of: $1.target) ?? 0) }
        let report = BenchReport(runs: runs)
        let text = report.markdown() + (order.count == 2 ? "\n" + report.ratioTable(order[0], order[1]) : "")
        print(text, terminator: "")
        if let markdown { try text.write(toFile: markdown, atomically: true, encoding: .utf8) }
        if let json { try report.json().write(to: URL(fileURLWithPath: json)) }
        if let svg {
            let title = "Throughput vs TTFT p99, \(benchShape.label)"
            try SVGPlot.throughputVersusTTFT(runs, title: title).write(toFile: svg, atomically: true, encoding: .utf8)
        }
    }

    /// `--multi-turn`: each target in turn, the same conversations for all.
    func runMultiTurn() async throws {
        var shape = MultiTurnBench.Shape()
        shape.conversations = conversations
        shape.turns = turns
        shape.systemWords = systemWords
        shape.userWords = userWords
        shape.replyTokens = replyTokens
        shape.interleave = interleave
        shape.concurrency = Int(try parseList(concurrency, name: "--concurrency")[0])
        guard [conversations, turns, systemWords, userWords, replyTokens].allSatisfy({ $0 > 0 }) else {
            throw ValidationError("the multi-turn sizes must be positive")
        }
        var results: [MultiTurnBench.Result] = []
        for (name, url) in targets.map(split) {
            let bench = MultiTurnBench(shape: shape, client: BenchClient(baseURL: url, model: model, apiKey: apiKey), seed: seed)
            let result = await bench.run(name: name)
            FileHandle.standardError.write(Data(String(format: "%@: %.1f s, %d failed\n", name, result.wallSeconds, result.failures).utf8))
            results.append(result)
        }
        let text = "Multi-turn chat: \(conversations) conversations × \(turns) turns, \(shape.concurrency) at a time"
            + (interleave ? " (interleaved: turn by turn across each client's conversations), " : ", ")
            + "\(systemWords)-word shared system prompt, \(userWords)-word user turns, \(replyTokens)-token replies\n\n"
            + MultiTurnBench.markdown(results)
        print(text, terminator: "")
        if let markdown { try text.write(toFile: markdown, atomically: true, encoding: .utf8) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(results).write(to: URL(fileURLWithPath: json))
        }
    }

    /// `--embeddings`: each load point, each target in turn.
    func runEmbeddings() async throws {
        var shape = EmbeddingsBench.Shape()
        shape.inputTokens = isl ?? BenchShape.parse(self.shape)?.inputTokens ?? shape.inputTokens
        shape.batch = batch
        shape.requestsPerClient = perClient ?? shape.requestsPerClient
        shape.warmup = warmup
        guard shape.inputTokens > 0, (1...2048).contains(shape.batch) else {
            throw ValidationError("--isl must be positive and --batch 1 to 2048")
        }
        var results: [EmbeddingsBench.Result] = []
        for (index, load) in try parseList(concurrency, name: "--concurrency").enumerated() {
            for (name, url) in targets.map(split) {
                let bench = EmbeddingsBench(shape: shape, client: BenchClient(baseURL: url, model: model, apiKey: apiKey))
                let result = await bench.run(name: name, concurrency: Int(load), promptOffset: index * 100_000)
                FileHandle.standardError.write(Data(String(format: "%@ c=%d: %.1f inputs/s, %.0f tokens/s, %d/%d ok\n", name,
                                                           result.concurrency, result.inputsPerSecond, result.tokensPerSecond,
                                                           result.requests - result.failed, result.requests).utf8))
                results.append(result)
            }
        }
        let text = EmbeddingsBench.markdown(results, shape: shape)
        print(text, terminator: "")
        if let markdown { try text.write(toFile: markdown, atomically: true, encoding: .utf8) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(results).write(to: URL(fileURLWithPath: json))
        }
    }

    func parseList(_ text: String, name: String) throws -> [Double] {
        let values = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.count == text.split(separator: ",").count, values.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("\(name) must be a comma-separated list of positive numbers")
        }
        return values
    }

    func split(_ target: String) -> (String, String) {
        guard let eq = target.firstIndex(of: "="), !target[..<eq].contains("/") else { return (target, target) }
        return (String(target[..<eq]), String(target[target.index(after: eq)...]))
    }
}
