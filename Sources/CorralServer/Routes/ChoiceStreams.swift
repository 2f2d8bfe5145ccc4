import CorralCore
import Scheduler

/// Merges the event streams of several choices (n > 1, or several prompts) into one
/// stream of `(choice index, event)`. When the consumer stops listening, every choice's
/// stream is cancelled, which frees its KV in the scheduler. When every choice has ended,
/// `lease` is settled with the tokens they used (each choice's prompt and output).
func mergeChoices(_ streams: [AsyncStream<GenerationEvent>], promptTokens: [Int] = [],
                  lease: TenantLimiter.Lease? = nil) -> AsyncStream<(Int, GenerationEvent)> {
    let (merged, continuation) = AsyncStream.makeStream(of: (Int, GenerationEvent).self)
    let task = Task {
        let used = await withTaskGroup(of: Int.self) { group in
            for (index, stream) in streams.enumerated() {
                group.addTask {
                    var generated = 0
                    for await event in stream {
                        if case .delta(_, let tokens, _) = event { generated += tokens.count }
                        continuation.yield((index, event))
                    }
                    return generated + (index < promptTokens.count ? promptTokens[index] : 0)
                }
            }
            return await group.reduce(0, +)
        }
        lease?.settle(used: used)
        continuation.finish()
    }
    continuation.onTermination = { _ in task.cancel() }
    return merged
}

/// What one choice has produced so far, for non-streaming responses.
struct ChoiceAccumulator {
    var text = ""
    var logprobs: [TokenLogprobs] = []
    var summary: GenerationSummary?
    var error: SchedulerError?

    mutating func apply(_ event: GenerationEvent) {
        switch event {
        case .delta(let t, _, let lps): text += t; logprobs += lps
        case .finished(let s): summary = s
        case .failed(let e): error = e
        }
    }
}
