import Foundation
import CorralCore
import LlamaEngine
import Scheduler
import Testing

/// Sampling inside the engine's graph (plain greedy requests) against sampling on the host
/// (everything): a request gets the same tokens whichever path sampled it, and a request
/// needing a host-only feature still gets that feature when it shares the batch with
/// device-sampled ones.
@Suite("Device sampling against host sampling", .serialized)
struct DeviceSamplingTests {
    static let cache = ProcessInfo.processInfo.environment["CORRAL_CACHE"] ?? NSHomeDirectory() + "/.cache/corral"
    static let smol = try! LlamaModel(path: ProcessInfo.processInfo.environment["CORRAL_TEST_MODEL"]
        ?? cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf", options: .init(gpuLayers: 0))
    static let deci = try! LlamaModel(path: ProcessInfo.processInfo.environment["CORRAL_TEST_DECI_MODEL"]
        ?? cache + "/models/tiny-deci.gguf", options: .init(gpuLayers: 0))

    static let questions = ["What is the capital of France?", "Name a primary color.", "Count from one to five.",
                            "Say hello in Spanish."]

    /// A stopped scheduler (started once everything is queued, so batches are the same in
    /// both runs) with partitioned KV, as the server runs by default.
    func scheduler(_ model: LlamaModel, device: Bool, sequences: Int = 8) throws -> (BatchScheduler, LlamaExecutor) {
        let context = try LlamaContext(model: model, options: .init(
            contextLength: 512 * sequences, batchCapacity: 256, maxSequences: sequences, threads: 2,
            flashAttention: model.metadata.architecture == "deci" ? true : nil, unifiedKV: false))
        let executor = LlamaExecutor(context: context, samplingThreads: 2, deviceSampling: device)
        return (BatchScheduler(executor: executor, config: SchedulerConfig(maxBatchTokens: 256, maxRunningSequences: sequences,
                                                                          prefixCaching: false)), executor)
    }

    func prompt(_ model: LlamaModel, _ question: String) throws -> [Token] {
        try model.tokenize(try model.prompt(for: [ChatMessage(role: "user", content: question)]),
                           addSpecial: true, parseSpecial: true)
    }

    /// Runs the requests together and returns each one's tokens, and how many of them the
    /// device sampled.
    func run(_ model: LlamaModel, device: Bool, _ requests: [GenerationRequest]) async throws -> (tokens: [[Token]], onDevice: Int) {
        let (s, executor) = try scheduler(model, device: device)
        defer { s.shutdown() }
        let streams = try requests.map { try s.submit($0) }
        s.start()
        var outputs: [[Token]] = []
        for stream in streams {
            var tokens: [Token] = []
            for await event in stream {
                switch event {
                case .delta(_, let t, _): tokens += t
                case .finished: break
                case .failed(let e): Issue.record("request failed: \(e)")
                }
            }
            outputs.append(tokens)
        }
        s.shutdown()
        return (outputs, executor.deviceSampledTokens)
    }

    func greedy(_ model: LlamaModel, _ question: String, maxTokens: Int = 16) throws -> GenerationRequest {
        GenerationRequest(prompt: try prompt(model, question), maxTokens: maxTokens, sampling: .greedy)
    }

    @Test func greedyRequestsGetTheSameTokensSampledOnTheDeviceOrTheHost() async throws {
        for model in [Self.smol, Self.deci] {
            let requests = try Self.questions.map { try greedy(model, $0) }
            let (device, onDevice) = try await run(model, device: true, requests)
            let (host, onHost) = try await run(model, device: false, requests)
            #expect(device == host)
            #expect(device.allSatisfy { $0.count > 0 })
            // Every token of the device run came from the device, none of the host run's.
            #expect(onDevice == device.joined().count && onHost == 0)
        }
    }

    @Test func seededRequestsBesideDeviceSampledOnesMatchTheHostOnlyRun() async throws {
        // A seeded random request is sampled on the host (the device's draw is not the
        // host's), beside greedy ones sampled on the device; its output must not depend
        // on that.
        let model = Self.smol
        var requests = try Self.questions.prefix(4).map { try greedy(model, $0) }
        for seed in UInt32(1)...2 {
            requests.append(GenerationRequest(prompt: try prompt(model, "Write a short poem."), maxTokens: 16,
                                              sampling: SamplingParameters(temperature: 0.9, topK: 40, topP: 0.95, seed: seed)))
        }
        let (device, onDevice) = try await run(model, device: true, requests)
        #expect(device == (try await run(model, device: false, requests)).tokens)
        #expect(Set(device.suffix(2)).count > 1, "different seeds gave the same output")
        #expect(onDevice == device.prefix(4).joined().count)
    }

    @Test func hostOnlyFeaturesStillApplyBesideDeviceSampledRequests() async throws {
        let model = Self.smol
        let plain = try greedy(model, "Name a planet.")
        let baseline = try await run(model, device: true, [plain]).tokens[0]
        let forced = try model.tokenize(" yes", addSpecial: false, parseSpecial: false)[0]
        var biased = plain
        biased.sampling.logitBias = [forced: 100]
        // Counting repeats its separators, which a penalty must change.
        var penalised = try greedy(model, Self.questions[2])
        penalised.sampling.repetitionPenalty = 1.8
        var constrained = plain
        let gbnf = #"root ::= "blue" | "red""#
        try model.checkGrammar(gbnf)
        constrained.sampling.grammar = GrammarSpec(gbnf)
        var withLogprobs = plain
        withLogprobs.logprobs = 2
        let requests = try Self.questions.prefix(3).map { try greedy(model, $0) } + [biased, penalised, constrained, withLogprobs]
        let (device, onDevice) = try await run(model, device: true, requests)
        #expect(device == (try await run(model, device: false, requests)).tokens)
        // The plain greedy ones were sampled on the device, the others on the host.
        #expect(onDevice == device.prefix(3).joined().count)
        #expect(device[3].allSatisfy { $0 == forced }, "logit_bias was not applied")
        #expect(device[4] != device[2], "the repetition penalty changed nothing")
        let text = String(decoding: device[5].filter { !model.isEndOfGeneration($0) }.flatMap { model.tokenBytes($0) }, as: UTF8.self)
        #expect(["blue", "red"].contains(text), "\(text)")
        #expect(device[6] == baseline)
    }

    @Test func logprobsAreReportedForAGreedyRequestWhenDeviceSamplingIsOn() async throws {
        let model = Self.smol
        let (s, _) = try scheduler(model, device: true)
        defer { s.shutdown() }
        var request = try greedy(model, "Name a planet.", maxTokens: 6)
        request.logprobs = 3
        let stream = try s.submit(request)
        s.start()
        var reported = 0
        for await event in stream {
            if case .delta(_, let tokens, let logprobs) = event {
                reported += logprobs.count
                #expect(logprobs.allSatisfy { $0.top.count == 3 } && logprobs.map(\.token) == tokens)
            }
        }
        #expect(reported == 6)
    }
}
