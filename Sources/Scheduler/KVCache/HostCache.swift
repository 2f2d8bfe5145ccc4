import CorralCore

/// The host-RAM tier of the prefix cache: when a slot's resident must give way to another
/// conversation, its KV is copied out (`llama_state_seq_get_data_ext`) into this bounded
/// store, and a later request with that prefix restores it instead of recomputing it
/// (llama-server's `--cache-ram`). Least recently used entries go first when the byte
/// budget is reached, so it never grows past `capacityBytes`.
///
/// Entries are scoped like slot residents, and a restore is checked token for token
/// against the prompt before it is used, so no request gets another's state.
final class HostCache {
    /// One saved conversation prefix.
    final class Entry {
        let tokens: [Token]
        let scope: String
        let state: SavedKV
        var lastUsed: UInt64

        init(tokens: [Token], scope: String, state: SavedKV, lastUsed: UInt64) {
            self.tokens = tokens
            self.scope = scope
            self.state = state
            self.lastUsed = lastUsed
        }
    }

    /// Most bytes of saved state held at once.
    let capacityBytes: Int
    /// Bytes held now.
    private(set) var bytes = 0
    private var entries: [Entry] = []
    private var tick: UInt64 = 0
    /// Where its changes go as KV events (medium `CPU`), when they are published.
    var events: KVEventRecorder?

    /// Creates an empty tier of `capacityBytes`.
    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    /// Entries held.
    var count: Int { entries.count }

    /// Whether an entry of `scope` already holds `tokens` (or more after them), so saving
    /// them again would add nothing.
    func covers(_ tokens: [Token], scope: String) -> Bool {
        entries.contains { $0.scope == scope && $0.tokens.count >= tokens.count && $0.tokens.starts(with: tokens) }
    }

    /// Stores a saved prefix, dropping entries it extends and the least recently used
    /// ones until it fits. A state larger than the whole tier is not kept.
    func insert(tokens: [Token], scope: String, state: SavedKV) {
        guard state.bytes.count <= capacityBytes, !covers(tokens, scope: scope) else { return }
        for e in entries where e.scope == scope && tokens.starts(with: e.tokens) { remove(e) }
        while bytes + state.bytes.count > capacityBytes, let victim = entries.min(by: { $0.lastUsed < $1.lastUsed }) {
            remove(victim)
        }
        tick += 1
        entries.append(Entry(tokens: tokens, scope: scope, state: state, lastUsed: tick))
        bytes += state.bytes.count
        events?.stored(tokens[...], scope: scope, medium: .host)
    }

    /// The entry sharing the longest prefix with `prompt` within `scope`, and that length
    /// (leaving the last prompt token to compute).
    func bestMatch(for prompt: [Token], scope: String) -> (entry: Entry, length: Int)? {
        var best: (entry: Entry, length: Int)?
        for e in entries where e.scope == scope {
            let n = commonPrefixLength(e.tokens, prompt, limit: prompt.count - 1)
            if n > (best?.length ?? 0) { best = (e, n) }
        }
        return best
    }

    /// Drops an entry (restored into a slot, or evicted).
    func remove(_ entry: Entry) {
        guard let i = entries.firstIndex(where: { $0 === entry }) else { return }
        entries.remove(at: i)
        bytes -= entry.state.bytes.count
        events?.removed(entry.tokens[...], scope: entry.scope, medium: .host)
    }
}
