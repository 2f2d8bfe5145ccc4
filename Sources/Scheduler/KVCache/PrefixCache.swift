import CorralCore

/// Keeps the KV of recently finished sequences resident so a new request that starts with
/// the same tokens copies it instead of recomputing it (`llama_memory_seq_cp` shares the
/// cells in the unified cache).
///
/// Prompts are hashed in fixed blocks, each block's hash chained to the one before, so a
/// lookup walks the new prompt block by block and finds the longest cached prefix. Each
/// entry holds its cells under a sequence id of its own and owns them exclusively: no two
/// entries share cells, which keeps the KV accounting exact (used cells = entries' cells +
/// running sequences' cells beyond what they borrowed). An entry borrowed by a running
/// sequence cannot be evicted; the others go least recently used first.
final class PrefixCache {
    final class Entry {
        let slot: Int
        let tokens: [Token]
        var borrowers = 0
        var lastUsed: UInt64
        let hashes: [Int]
        /// Who may reuse it (tenant and `cache_salt`); the hash chain starts from it too.
        let scope: String
        /// A fork of a running prompt for its sibling choices, dropped when the last
        /// borrower is done (when prefix reuse itself is off).
        var ephemeral = false

        init(slot: Int, tokens: [Token], hashes: [Int], scope: String, tick: UInt64) {
            self.slot = slot
            self.tokens = tokens
            self.hashes = hashes
            self.scope = scope
            self.lastUsed = tick
        }

        var cells: Int { tokens.count }
    }

    /// Tokens per hashed block.
    let blockSize: Int
    private var freeSlots: [Int]
    private var entries: [Entry] = []
    private var byHash: [Int: Entry] = [:]
    private var tick: UInt64 = 0
    /// Where its changes go as KV events, when they are published.
    var events: KVEventRecorder?

    /// Creates a cache that may use the given sequence ids.
    init(slots: [Int], blockSize: Int) {
        self.freeSlots = slots.reversed()
        self.blockSize = blockSize
    }

    /// Cells held by all entries.
    var cells: Int { entries.reduce(0) { $0 + $1.cells } }

    /// Chained hashes of the full blocks of `tokens`, the chain seeded with `scope` so that
    /// no two scopes share a block.
    func blockHashes(_ tokens: ArraySlice<Token>, scope: String) -> [Int] {
        var hashes: [Int] = []
        var previous = scope.hashValue
        var start = tokens.startIndex
        while start + blockSize <= tokens.endIndex {
            var hasher = Hasher()
            hasher.combine(previous)
            for t in tokens[start..<start + blockSize] { hasher.combine(t) }
            previous = hasher.finalize()
            hashes.append(previous)
            start += blockSize
        }
        return hashes
    }

    /// The longest cached prefix of `prompt` that leaves at least one token to compute
    /// (the last prompt token must run to produce logits).
    func lookup(_ prompt: [Token], scope: String) -> (entry: Entry, length: Int)? {
        let usable = prompt[..<max(prompt.count - 1, 0)]
        var best: (Entry, Int)?
        for (i, hash) in blockHashes(usable, scope: scope).enumerated() {
            guard let entry = byHash[hash] else { break }
            let length = (i + 1) * blockSize
            // Hashes can collide; the scope and the tokens decide.
            guard entry.scope == scope, entry.tokens.count >= length, entry.tokens[..<length].elementsEqual(prompt[..<length]) else { break }
            best = (entry, length)
        }
        return best
    }

    /// Marks an entry borrowed by a running sequence.
    func borrow(_ entry: Entry) {
        tick += 1
        entry.lastUsed = tick
        entry.borrowers += 1
    }

    /// Ends a borrow; an ephemeral entry nobody borrows any more is dropped.
    func giveBack(_ entry: Entry, release: (Int) -> Void) {
        entry.borrowers -= 1
        if entry.ephemeral && entry.borrowers == 0 && entries.contains(where: { $0 === entry }) {
            remove(entry, release: release)
        }
    }

    /// A slot for a new entry, evicting the least recently used unborrowed entry if needed.
    /// `release` frees an evicted entry's KV.
    func takeSlot(release: (Int) -> Void) -> Int? {
        if let slot = freeSlots.popLast() { return slot }
        guard evictOne(release: release) else { return nil }
        return freeSlots.popLast()
    }

    /// Records an entry whose KV has just been copied into `slot`.
    @discardableResult
    func insert(slot: Int, tokens: [Token], scope: String) -> Entry {
        tick += 1
        let entry = Entry(slot: slot, tokens: tokens, hashes: blockHashes(tokens[...], scope: scope), scope: scope, tick: tick)
        entries.append(entry)
        for h in entry.hashes { byHash[h] = entry }
        events?.stored(tokens[...], scope: scope, medium: .device)
        return entry
    }

    /// Replaces `entry` by a longer one in the same slot, whose KV already extends it.
    func replace(_ entry: Entry, tokens: [Token]) {
        // The new entry first, so the blocks both hold are never reported removed.
        insert(slot: entry.slot, tokens: tokens, scope: entry.scope)
        unlink(entry)
    }

    /// Drops `entry` and frees its KV.
    func remove(_ entry: Entry, release: (Int) -> Void) {
        release(entry.slot)
        unlink(entry)
        freeSlots.append(entry.slot)
    }

    private func unlink(_ entry: Entry) {
        events?.removed(entry.tokens[...], scope: entry.scope, medium: .device)
        entries.removeAll { $0 === entry }
        for h in entry.hashes where byHash[h] === entry { byHash[h] = nil }
        // Another entry may hold the same leading blocks; point the hashes back at it.
        for other in entries { for h in other.hashes where byHash[h] == nil { byHash[h] = other } }
    }

    /// Evicts the least recently used unborrowed entry. Returns false when none can go.
    @discardableResult
    func evictOne(release: (Int) -> Void) -> Bool {
        guard let victim = entries.filter({ $0.borrowers == 0 }).min(by: { $0.lastUsed < $1.lastUsed }) else { return false }
        remove(victim, release: release)
        return true
    }
}
