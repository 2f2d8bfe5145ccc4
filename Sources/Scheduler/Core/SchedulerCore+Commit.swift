import CorralCore

extension SchedulerCore {
    /// Applies a step's results: advances computed counts, turns sampled tokens into text,
    /// and finishes sequences that hit a stop, `max_tokens` or the context end.
    /// - Parameters:
    ///   - seconds: the executor's time for the step.
    ///   - sampleSeconds: the part of it spent sampling.
    ///   - planSeconds: host time spent planning the step, reported with commit's own.
    ///   - hostBefore: host time on the engine thread from the step's start to this call,
    ///     less the engine's own call; commit adds its own time to it.
    func commit(_ plan: StepPlan, _ result: StepResult, seconds: Double,
                sampleSeconds: Double = 0, planSeconds: Double = 0, hostBefore: Double = 0) {
        let began = ContinuousClock.now
        defer { flushKVEvents() }
        let outputs: StepOutput
        switch result {
        case .success(let o):
            outputs = o
        case .failure(.outOfKV):
            // The engine could not place the batch (fragmentation): recompute the newest
            // sequence later and try again with a smaller batch.
            if let victim = victimForPreemption() { preempt(victim) }
            return
        case .failure(.failed(let message)):
            for (seq, _) in plan.items where seq.phase == .running { end(seq, .failed(.engineFailure(message))) }
            return
        }
        var prefill = 0, decode = 0
        for (index, (seq, work)) in plan.items.enumerated() {
            guard seq.phase == .running else { continue }
            let start = seq.computed
            if start + work.committedCount <= seq.promptCount {
                prefill += work.tokens.count
                seq.ledger.counters.promptTokens += work.tokens.count
            } else {
                decode += work.tokens.count
            }
            if work.embed {
                seq.computed += work.tokens.count
                charge(seq)
                // The pooled pass computed the whole input: the request is done, and its
                // KV goes back at once (`end` releases it).
                guard let vector = outputs.vectors[index] else {
                    end(seq, .failed(.engineFailure("no vector was pooled for sequence \(seq.id)")))
                    continue
                }
                var summary = summary(seq, .stop)
                summary.embedding = vector
                end(seq, .finished(summary))
                continue
            }
            let sampled = outputs.sampled[index]
            guard !sampled.isEmpty else {
                seq.computed += work.tokens.count
                charge(seq)
                // A position that should have produced a token did not: end the request
                // explicitly rather than leave it stalled.
                if work.sample { end(seq, .failed(.engineFailure("no token was sampled for sequence \(seq.id)"))) }
                continue
            }
            // Counted first, so a request that ends in this step reports its last draft.
            noteDraft(seq, drafted: work.draft, accepted: sampled.count - 1)
            // Each sampled token follows one more computed position: the chunk's last, then
            // each accepted draft token's. A stop part-way ends the sequence there; the KV
            // of the accepted tokens after it goes with the sequence.
            for (j, token) in sampled.enumerated() where seq.phase == .running {
                seq.computed = start + work.committedCount + j
                accept(token, for: seq)
            }
            charge(seq)
        }
        count(prompt: prefill)
        noteThroughput(tokens: prefill + decode, seconds: seconds)
        observer?.stepFinished(StepStats(duration: seconds, prefillTokens: prefill, decodeTokens: decode,
                                         sequences: plan.items.count, sampleSeconds: sampleSeconds,
                                         scheduleSeconds: planSeconds + (ContinuousClock.now - began).seconds,
                                         hostSeconds: max(hostBefore + (ContinuousClock.now - began).seconds, 0)))
    }

    private func accept(_ sampled: SampledToken, for seq: SequenceState) {
        let token = sampled.token
        let request = seq.request
        if seq.timing.firstToken == nil { seq.timing.firstToken = clock() }
        seq.tokens.append(token)
        count(generated: 1)
        seq.ledger.counters.generationTokens += 1
        let logprobs = sampled.logprobs.map { [$0] } ?? []

        let isEOG = executor.isEndOfGeneration(token)
        let decision = StopCheck.decide(isEndOfGeneration: isEOG, generated: seq.generatedCount, length: seq.tokens.count,
                                        request: request, maxModelLength: maxModelLength)
        if decision == .endOfGeneration {
            // Text the stop matcher holds came before the detokenizer's undecoded bytes.
            let tail = switch seq.text.stopMatcher.feed(seq.text.detokenizer.flush()) {
            case .stopped(let before): before
            case .text(let shown): shown + seq.text.stopMatcher.flush()
            }
            seq.continuation.yield(.delta(text: tail, tokens: [token], logprobs: logprobs))
            end(seq, .finished(summary(seq, .stop)))
            return
        }
        let text = isEOG ? "" : seq.text.detokenizer.append(
            request.shownSpecialTokens.contains(token) ? executor.tokenBytes(token, special: true) : executor.tokenBytes(token))
        switch seq.text.stopMatcher.feed(text) {
        case .stopped(let before):
            seq.continuation.yield(.delta(text: before, tokens: [token], logprobs: logprobs))
            end(seq, .finished(summary(seq, .stop)))
            return
        case .text(let shown):
            guard decision == .limit else {
                seq.continuation.yield(.delta(text: shown, tokens: [token], logprobs: logprobs))
                return
            }
            // End of output: bytes still held back go through the stop matcher too.
            switch seq.text.stopMatcher.feed(seq.text.detokenizer.flush()) {
            case .stopped(let before):
                seq.continuation.yield(.delta(text: shown + before, tokens: [token], logprobs: logprobs))
                end(seq, .finished(summary(seq, .stop)))
            case .text(let more):
                seq.continuation.yield(.delta(text: shown + more + seq.text.stopMatcher.flush(), tokens: [token], logprobs: logprobs))
                end(seq, .finished(summary(seq, .length)))
            }
        }
    }
}
