extension KVCacheManager {
    /// A cached prefix a sequence shares: the entry, and how many of its cells.
    typealias Hit = (entry: PrefixCache.Entry, length: Int)

    /// The cached prefix a sequence would reuse if admitted now: its leader's fork for a
    /// sibling choice holding a reservation, else the longest block-cache match.
    func prefixHit(for seq: SequenceState) -> Hit? {
        if seq.forks.holdsReservation, let entry = seq.forks.leader?.forks.entry {
            return (entry, min(entry.cells, seq.tokens.count - 1))
        }
        return prefixCaching ? prefixCache?.lookup(seq.tokens, scope: seq.cacheScope) : nil
    }

    /// Pins an entry for a sequence about to be admitted, so making room cannot evict it.
    func borrow(_ entry: PrefixCache.Entry) {
        prefixCache?.borrow(entry)
    }

    /// Ends a borrow; an ephemeral entry nobody borrows any more is dropped with its KV.
    func giveBack(_ entry: PrefixCache.Entry) {
        prefixCache?.giveBack(entry, release: { executor.release(slot: $0) })
    }

    /// Shares a borrowed prefix with `seq`, newly given `slot`: its first cells become the
    /// entry's (the unified cache tags them, it does not duplicate them).
    func share(_ hit: Hit, with seq: SequenceState, in slot: Int) {
        executor.copy(from: hit.entry.slot, to: slot, length: hit.length)
        seq.borrow.entry = hit.entry
        seq.borrow.length = hit.length
    }

    /// Keeps a finished sequence's KV as a cache entry, block-aligned, when it adds
    /// something the cache lacks. An entry the sequence extended, and that nobody else
    /// borrows, is grown in place, so entries never share cells.
    func retainPrefix(of seq: SequenceState) {
        guard prefixCaching, let cache = prefixCache, let slot = seq.slot else { return }
        let length = (seq.computed / cache.blockSize) * cache.blockSize
        guard length > seq.borrow.length else { return }
        let tokens = Array(seq.tokens[..<length])
        // (lookup keeps the last token back for logits; the sentinel lets it see them all)
        if let existing = cache.lookup(tokens + [0], scope: seq.cacheScope), existing.length >= length { return }
        if let entry = seq.borrow.entry {
            // Grow the entry only if this sequence used all of it and nobody else shares it;
            // otherwise leave it be rather than have two entries share cells.
            guard entry.borrowers == 1, entry.cells == seq.borrow.length else { return }
            entry.borrowers -= 1
            entry.ephemeral = false
            seq.borrow.entry = nil
            seq.borrow.length = 0
            executor.copy(from: slot, to: entry.slot, length: length)
            cache.replace(entry, tokens: tokens)
            return
        }
        guard let entrySlot = cache.takeSlot(release: { executor.release(slot: $0) }) else { return }
        executor.copy(from: slot, to: entrySlot, length: length)
        cache.insert(slot: entrySlot, tokens: tokens, scope: seq.cacheScope)
    }

    /// Moves all but the last token of a running leader's prompt into an ephemeral cache
    /// entry that the leader and its sibling choices then share. The leader's own cells
    /// become the entry's, so the accounting is unchanged. A leader that already borrows a
    /// cached prefix is not forked (entries never share cells); its siblings hit that
    /// prefix through the cache instead.
    func forkPrompt(of leader: SequenceState) {
        guard let cache = prefixCache, let slot = leader.slot, leader.borrow.entry == nil else {
            leader.forks.declined = true
            return
        }
        let length = leader.promptCount - 1
        guard length > 0, let entrySlot = cache.takeSlot(release: { executor.release(slot: $0) }) else {
            leader.forks.declined = true
            return
        }
        executor.copy(from: slot, to: entrySlot, length: length)
        let entry = cache.insert(slot: entrySlot, tokens: Array(leader.tokens[..<length]), scope: leader.cacheScope)
        entry.ephemeral = true
        cache.borrow(entry)
        leader.borrow.entry = entry
        leader.borrow.length = length
        leader.forks.entry = entry
        for sibling in leader.forks.followers where sibling.phase == .waiting {
            cache.borrow(entry)
            sibling.forks.holdsReservation = true
        }
    }
}
