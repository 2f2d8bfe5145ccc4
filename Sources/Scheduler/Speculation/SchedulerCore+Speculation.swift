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
        for i in decoding where room > 0 {
            let seq = plan.items[i].sequence
            let request = seq.request
            // Accepted drafts are tokens generated: never past max_tokens or the context.
            let limit = min(spec.maxDraftTokens, seq.speculation.limit, room,
                            request.maxTokens - seq.generatedCount - 1, maxModelLength - seq.tokens.count)
            guard limit > 0 else { continue }
            let draft = proposer.propose(seq.tokens, sequence: seq.id, limit: limit)
            guard !draft.isEmpty else { continue }
            var tokens = Array(plan.items[i].work.tokens)
            tokens += draft
            plan.items[i].work.tokens = tokens[...]
            plan.items[i].work.draft = draft.count
            room -= draft.count
        }
    }

    /// Records how a sequence's draft fared and adapts its next draft's length.
    /// - Parameters:
    ///   - drafted: draft tokens verified.
    ///   - accepted: how many of them the engine accepted.
    func noteDraft(_ seq: SequenceState, drafted: Int, accepted: Int) {
        guard drafted > 0 else { return }
        let maxDraft = config.speculation.maxDraftTokens
        seq.speculation.drafted += drafted
        seq.speculation.accepted += accepted
        if accepted == 0 {
            seq.speculation.limit = max(min(seq.speculation.limit, maxDraft) / 2, 1)
        } else if accepted == drafted {
            seq.speculation.limit = min(max(min(seq.speculation.limit, maxDraft), 1) * 2, maxDraft)
        }
        countDraft(drafted: drafted, accepted: accepted)
    }
}
