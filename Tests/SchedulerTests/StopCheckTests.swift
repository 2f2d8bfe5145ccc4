import CorralCore
@testable import Scheduler
import Testing

@Suite("Stop check")
struct StopCheckTests {
    private func decide(eog: Bool = false, generated: Int, length: Int = 10, maxModelLength: Int = 100,
                        _ request: GenerationRequest) -> StopCheck.Decision {
        StopCheck.decide(isEndOfGeneration: eog, generated: generated, length: length,
                         request: request, maxModelLength: maxModelLength)
    }

    @Test("An end-of-generation token ends with stop, even at max_tokens")
    func endOfGenerationWinsOverTheLimit() {
        let request = GenerationRequest(prompt: [1, 2], maxTokens: 3)
        #expect(decide(eog: true, generated: 1, request) == .endOfGeneration)
        #expect(decide(eog: true, generated: 3, request) == .endOfGeneration)
    }

    @Test("ignore_eos and min_tokens keep an end-of-generation token from ending the sequence")
    func ignoredEndOfGenerationGoesOn() {
        #expect(decide(eog: true, generated: 1, GenerationRequest(prompt: [1], maxTokens: 5, ignoreEOS: true)) == .proceed)
        #expect(decide(eog: true, generated: 1, GenerationRequest(prompt: [1], maxTokens: 5, minTokens: 2)) == .proceed)
        #expect(decide(eog: true, generated: 2, GenerationRequest(prompt: [1], maxTokens: 5, minTokens: 2)) == .endOfGeneration)
        #expect(decide(eog: true, generated: 5, GenerationRequest(prompt: [1], maxTokens: 5, ignoreEOS: true)) == .limit)
    }

    @Test("max_tokens and the context end are limits; below both generation goes on")
    func limits() {
        let request = GenerationRequest(prompt: [1, 2], maxTokens: 4)
        #expect(decide(generated: 3, request) == .proceed)
        #expect(decide(generated: 4, request) == .limit)
        #expect(decide(generated: 1, length: 100, maxModelLength: 100, request) == .limit)
        #expect(decide(generated: 1, length: 99, maxModelLength: 100, request) == .proceed)
    }
}
