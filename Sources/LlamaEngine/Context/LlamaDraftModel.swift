public import CorralCore
import CLlama

/// Speculative drafts from a small model with the target's vocabulary (vLLM's draft
/// model, llama-server's `-md`), run greedily on a context of its own.
///
/// The draft context holds a few sequences, each remembering the tokens its KV was computed
/// from: a sequence's next call recomputes only what changed since (the tokens the target
/// accepted), drafts `limit` tokens one decode at a time, and keeps their KV, so an
/// accepted draft is never computed twice. More sequences than it holds take the least
/// recently used one's place. Used from the engine thread only.
public final class LlamaDraftModel: DraftProposer, @unchecked Sendable {
    /// The draft context.
    public let context: LlamaContext
    /// What each draft sequence's KV holds, and whose it is.
    private var entries: [Entry]
    private var clock: UInt64 = 0

    private struct Entry {
        var owner: UInt64?
        var tokens: [Token] = []
        var used: UInt64 = 0
    }

    /// Wraps a context created for drafting; its sequence count is how many running
    /// sequences keep their draft KV at once.
    /// - Throws: `.invalidArgument` when the two vocabularies differ (a draft in another
    ///   vocabulary proposes tokens that mean something else).
    public init(context: LlamaContext, target: LlamaModel) throws(LlamaError) {
        guard context.model.vocabSize == target.vocabSize,
              (0..<min(target.vocabSize, 256)).allSatisfy({ context.model.tokenBytes(Token($0), special: true)
                  == target.tokenBytes(Token($0), special: true) }) else {
            throw .invalidArgument("the draft model's vocabulary (\(context.model.vocabSize) tokens) is not the served model's (\(target.vocabSize))")
        }
        self.context = context
        self.entries = Array(repeating: Entry(), count: context.maxSequences)
    }

    public func propose(_ history: [Token], sequence: UInt64, limit: Int) -> ArraySlice<Token> {
        guard limit > 0, !history.isEmpty else { return [] }
        let slot = slot(for: sequence)
        let capacity = context.sequenceCapacity
        guard history.count + limit <= capacity else { return [] }
        // Reuse the longest prefix the draft KV already holds; at least the last token is fed
        // again, for its logits.
        var keep = 0
        let held = entries[slot].tokens
        while keep < min(held.count, history.count - 1), held[keep] == history[keep] { keep += 1 }
        context.trimSequence(slot, from: keep)
        var out: [Token] = []
        out.reserveCapacity(limit)
        do {
            var start = keep
            while start < history.count {
                let end = min(start + context.batchCapacity, history.count)
                context.clearBatch()
                for i in start..<end {
                    try context.add(token: history[i], position: i, sequence: slot, wantsLogits: i == history.count - 1)
                }
                try context.decode()
                start = end
            }
            var row = context.batchCount - 1
            while true {
                let token = argmax(row)
                out.append(token)
                if out.count == limit { break }
                context.clearBatch()
                row = try context.add(token: token, position: history.count + out.count - 1, sequence: slot, wantsLogits: true)
                try context.decode()
            }
        } catch {
            // A draft that cannot be made is no draft: the sequence decodes one token.
            context.removeSequence(slot)
            entries[slot].tokens = []
            return []
        }
        // The KV now holds the history and every draft token but the last.
        entries[slot].tokens = history + out.dropLast()
        return out[...]
    }

    public func forget(sequence: UInt64) {
        guard let slot = entries.firstIndex(where: { $0.owner == sequence }) else { return }
        entries[slot].owner = nil
    }

    /// The draft sequence `sequence` uses: its own, else the least recently used one (whose
    /// tokens stay, for a prefix the newcomer may share).
    private func slot(for sequence: UInt64) -> Int {
        clock += 1
        let slot = entries.firstIndex { $0.owner == sequence }
            ?? entries.indices.min { (entries[$0].owner == nil ? 0 : 1, entries[$0].used) < (entries[$1].owner == nil ? 0 : 1, entries[$1].used) }!
        entries[slot].owner = sequence
        entries[slot].used = clock
        return slot
    }

    private func argmax(_ row: Int) -> Token {
        let logits = llama_get_logits_ith(context.pointer, Int32(row))!
        return LlamaSampler.argmax(UnsafeBufferPointer(start: logits, count: context.model.vocabSize))
    }
}
