import CorralCore

extension SchedulerCore {
    /// Gives decoding sequences draft tokens to verify in this step, from what the step's
    /// token budget and the KV cache have left once every real token is planned: drafts
    /// never delay a prompt or a decode, and their cells are back by the step's end (the
    /// executor drops the rejected ones; accepted ones are computed tokens like any other).
    ///
    /// No drafts when more sequences decode than `disableByBatchSize`, or for a sequence
    /// whose request leaves no room past the token it is about to sample.
    func addDrafts(to plan: inout StepPlan) {
        let spec = config.speculation
        guard spec.maxDraftTokens > 0, let proposer else { return }
        let decoding = plan.items.indices.filter { plan.items[$0].sequence.isDecoding }
        guard !decoding.isEmpty, decoding.count <= spec.disableByBatchSize else { return }
        let planned = plan.items.reduce(0) { $0 + $1.work.tokens.count }
        var room = min(min(config.maxBatchTokens, executor.maxBatchTokens) - planned, kvFree - planned)
        var drafts: [(index: Int, draft: ArraySlice<Token>)] = []
        for i in decoding where room > 0 {
            let seq = plan.items[i].sequence
            if seq.speculation.pause > 0 {
                seq.speculation.pause -= 1
                continue
            }
            let request = seq.request
            // Accepted drafts are tokens generated: never past max_tokens or the context.
            let limit = min(spec.maxDraftTokens, seq.speculation.limit, room,
                            request.maxTokens - seq.generatedCount - 1, maxModelLength - seq.tokens.count)
            guard limit > 0 else { continue }
            let draft = proposer.propose(seq.tokens, sequence: seq.id, limit: limit)
            guard !draft.isEmpty else { continue }
            drafts.append((i, draft))
            room -= draft.count
        }
        // With a KV stream per sequence llama.cpp's ubatches take the same number of tokens
        // from each sequence (`split_equal`), so drafts of different lengths would cost a
        // pass over the weights per length: they are cut to the shortest.
        let length = executor.packsSlots ? drafts.map(\.draft.count).min() ?? 0 : Int.max
        for (i, draft) in drafts {
            let kept = draft.prefix(length)
            var tokens = Array(plan.items[i].work.tokens)
            tokens += kept
            plan.items[i].work.tokens = tokens[...]
            plan.items[i].work.draft = kept.count
        }
    }

    /// Records how a sequence's draft fared and adapts its next draft's length.
    /// - Parameters:
    ///   - drafted: draft tokens verified.
    ///   - accepted: how many of them the engine accepted.
    func noteDraft(_ seq: SequenceState, drafted: Int, accepted: Int) {
        guard drafted > 0 else { return }
        let maxDraft = config.speculation.maxDraftTokens
        countDraft(drafted: drafted, accepted: accepted)
        seq.speculation.drafted += drafted
        seq.speculation.accepted += accepted
        let limit = min(seq.speculation.limit, maxDraft)
        if accepted == 0 {
            if limit <= 1 {
                seq.speculation.misses = min(seq.speculation.misses + 1, 5)
                seq.speculation.pause = 1 << seq.speculation.misses  // 2 … 32 steps
            }
            seq.speculation.limit = max(limit / 2, 1)
        } else {
            seq.speculation.misses = 0
            if accepted == drafted { seq.speculation.limit = min(limit * 2, maxDraft) }
        }
    }
}
