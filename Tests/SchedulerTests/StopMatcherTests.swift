import CorralCore
@testable import Scheduler
import Testing

@Suite("Stop strings")
struct StopMatcherTests {
    @Test("Without stop strings text passes straight through")
    func passesTextThroughWithoutStops() {
        var matcher = StopMatcher(stops: ["", ""])
        #expect(matcher.feed("abc ") == .text("abc "))
        #expect(matcher.flush() == "")
    }

    @Test("A tail that could still become a stop is held back, then released when it cannot")
    func holdsBackPossibleStopPrefix() {
        var matcher = StopMatcher(stops: ["END"])
        #expect(matcher.feed("abcE") == .text("abc"))
        #expect(matcher.feed("N") == .text(""))
        #expect(matcher.feed("x") == .text("ENx"))
        #expect(matcher.feed("yE") == .text("y"))
        #expect(matcher.flush() == "E")
        #expect(matcher.flush() == "")
    }

    @Test("A stop string spread over several feeds is found, and only the text before it is final")
    func findsStopSpanningFeeds() {
        var matcher = StopMatcher(stops: ["hello world"])
        var shown = ""
        for piece in ["say hel", "lo", " wor"] {
            guard case .text(let text) = matcher.feed(piece) else {
                Issue.record("stopped early at \(piece)")
                return
            }
            shown += text
        }
        #expect(shown == "say ")
        #expect(matcher.feed("ld and more") == .stopped(""))
    }

    @Test("Held-back text before a stop is returned with the stop result")
    func stoppedReturnsHeldText() {
        var matcher = StopMatcher(stops: ["cd"])
        #expect(matcher.feed("ab c") == .text("ab "))
        #expect(matcher.feed("xcdy") == .stopped("cx"))
    }

    @Test("The earliest of several stops wins, and the longest possible prefix is held")
    func earliestStopAndLongestPrefix() {
        var first = StopMatcher(stops: ["bb", "a"])
        #expect(first.feed("xbba") == .stopped("x"))

        var longest = StopMatcher(stops: ["abcd", "cx"])
        #expect(longest.feed("zabc") == .text("z"))
        #expect(longest.feed("x") == .stopped("ab"))
    }

    // MARK: End to end through the scheduler (token text is "w<id> ")

    @Test("A stop string in the generated text ends with .stop and is not in the output")
    func stopStringEndsGeneration() async throws {
        let h = Harness(kvCapacity: 512, config: SchedulerConfig(policy: .fcfs))
        let start: [Token] = [5, 6, 7]
        let chain = h.executor.chain(after: start, count: 20)
        let full = h.executor.text(of: chain)
        let stop = "\(chain[5]) w\(chain[6])"  // spans the boundary between two tokens
        let cut = try #require(full.firstRange(of: stop)).lowerBound
        let tokensToStop = try #require((1...20).first { h.executor.text(of: Array(chain.prefix($0))).contains(stop) })

        let id = try h.submit(GenerationRequest(prompt: start, maxTokens: 20, stop: ["zzz", stop]))
        #expect(h.runUntilIdle())
        let outcome = try #require(await h.outcome(id))
        #expect(outcome.summary?.reason == .stop)
        #expect(outcome.text == String(full[..<cut]))
        #expect(!outcome.text.contains(stop))
        #expect(outcome.deltas.allSatisfy { !$0.contains(stop) })
        #expect(outcome.tokens == Array(chain.prefix(tokensToStop)))
        #expect(outcome.summary?.completionTokens == tokensToStop)
    }

    @Test("Held-back text is released when generation ends by length or by EOG", arguments: [0, 7])
    func heldBackTextIsReleasedAtTheEnd(eogEvery: Int) async throws {
        let h = Harness(kvCapacity: 512, config: SchedulerConfig(policy: .fcfs))
        h.executor.eogEvery = eogEvery
        let start: [Token] = [11, 12]
        let id = try h.submit(GenerationRequest(prompt: start, maxTokens: 30, stop: [" wZ"]))
        #expect(h.runUntilIdle())
        let outcome = try #require(await h.outcome(id))
        let chain = h.executor.chain(after: start, count: outcome.tokens.count)
        #expect(outcome.tokens == chain)
        if eogEvery > 0 {
            #expect(outcome.summary?.reason == .stop)
            #expect(chain.last == h.executor.eogToken)
        } else {
            #expect(outcome.summary?.reason == .length)
            #expect(chain.count == 30)
        }
        #expect(outcome.text == h.executor.text(of: chain))
        // Every token's text ends in " ", a prefix of " wZ": held back until the end.
        #expect(outcome.deltas.dropLast().allSatisfy { !$0.hasSuffix(" ") })
    }

    @Test("At EOG, text held by the stop matcher comes before undecoded bytes")
    func eogFlushKeepsTextOrder() async throws {
        let base = SimulatedExecutor(kvCapacity: 256, slotCount: 1, maxBatchTokens: 64)
        let start: [Token] = [3, 4]
        let chain = base.chain(after: start, count: 3)
        let executor = RespelledExecutor(base: base, spelling: [chain[0]: Array("a".utf8), chain[1]: [0xE2, 0x82]],
                                         endOfGeneration: chain[2])
        let core = SchedulerCore(executor: executor, config: SchedulerConfig(policy: .fcfs), clock: { base.now })
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
        _ = try core.enqueue(GenerationRequest(prompt: start, maxTokens: 10, stop: ["ab"]), continuation: continuation)
        var steps = 0
        while core.hasWork && steps < 100 {
            core.step(recording: 0.01)
            steps += 1
        }
        let outcome = await collect(stream)
        #expect(outcome.summary?.reason == .stop)
        #expect(outcome.text == "a" + String(decoding: [0xE2, 0x82] as [UInt8], as: UTF8.self))
    }
}

/// The simulated engine with some tokens spelled differently, to split characters.
final class RespelledExecutor: BatchExecutor {
    let base: SimulatedExecutor
    let spelling: [Token: [UInt8]]
    let endOfGeneration: Token

    init(base: SimulatedExecutor, spelling: [Token: [UInt8]], endOfGeneration: Token) {
        self.base = base
        self.spelling = spelling
        self.endOfGeneration = endOfGeneration
    }

    var kvCapacity: Int { base.kvCapacity }
    var slotCount: Int { base.slotCount }
    var maxBatchTokens: Int { base.maxBatchTokens }
    func open(slot: Int, sampling: SamplingParameters, history: [Token]) {}
    func execute(_ work: [SequenceWork]) throws(ExecutorError) -> [[SampledToken]] { try base.execute(work) }
    func release(slot: Int) { base.release(slot: slot) }
    func copy(from source: Int, to destination: Int, length: Int) { base.copy(from: source, to: destination, length: length) }
    func trim(slot: Int, from position: Int) { base.trim(slot: slot, from: position) }
    func isEndOfGeneration(_ token: Token) -> Bool { token == endOfGeneration || base.isEndOfGeneration(token) }
    func tokenBytes(_ token: Token) -> [UInt8] { spelling[token] ?? base.tokenBytes(token) }
}
