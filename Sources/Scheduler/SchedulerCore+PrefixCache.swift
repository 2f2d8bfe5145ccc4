extension SchedulerCore {
    /// Keeps a finished sequence's KV as a cache entry, block-aligned, when it adds
    /// something the cache lacks. An entry the sequence extended, and that nobody else
    /// borrows, is grown in place, so entries never share cells.
    func retainPrefix(of seq: SequenceState) {
        guard let cache = prefixCache, let slot = seq.slot else { return }
        let length = (seq.computed / cache.blockSize) * cache.blockSize
        guard length > seq.borrowedLength else { return }
        let tokens = Array(seq.tokens[..<length])
        // (lookup keeps the last token back for logits; the sentinel lets it see them all)
        if let existing = cache.lookup(tokens + [0]), existing.length >= length { return }
        if let entry = seq.borrowed {
            // Grow the entry only if this sequence used all of it and nobody else shares it;
            // otherwise leave it be rather than have two entries share cells.
            guard entry.borrowers == 1, entry.cells == seq.borrowedLength else { return }
            cache.giveBack(entry)
            seq.borrowed = nil
            seq.borrowedLength = 0
            executor.copy(from: slot, to: entry.slot, length: length)
            cache.replace(entry, tokens: tokens)
            return
        }
        guard let entrySlot = cache.takeSlot(release: { executor.release(slot: $0) }) else { return }
        executor.copy(from: slot, to: entrySlot, length: length)
        cache.insert(slot: entrySlot, tokens: tokens)
    }
}
