import CorralCore

/// The prefix cache of the partitioned KV layout: the KV a finished (or preempted)
/// sequence leaves in its slot stays there until the slot is needed, and a new request
/// takes the free slot whose resident tokens share the longest prefix with its prompt,
/// trims the rest and computes only what is new (llama-server's slot reuse, with vLLM's
/// exact accounting).
///
/// In the partitioned layout a slot's KV is its own stream, so a resident can only be
/// reused in place; copying a stream to another slot costs a whole-partition copy, which
/// the host tier (`HostCache`) does instead when a slot must change hands.
///
/// Residents are scoped (tenant and `cache_salt`): a prompt never matches another
/// scope's resident, so no tenant can time another's prompts.
final class SlotCache {
    /// What one free slot still holds.
    struct Resident {
        /// The tokens whose KV is in the slot, by position.
        var tokens: [Token]
        /// Who may reuse it.
        var scope: String
        /// Recency, for choosing which resident to give up.
        var lastUsed: UInt64
    }

    private(set) var residents: [Resident?]
    private var tick: UInt64 = 0
    /// Cells held by all residents.
    private(set) var cells = 0
    /// Where its changes go as KV events, when they are published.
    var events: KVEventRecorder?

    /// Creates an empty cache over `slots` slots.
    init(slots: Int) {
        residents = Array(repeating: nil, count: slots)
    }

    /// Records that `slot` (now free) holds the KV of `tokens`.
    func keep(slot: Int, tokens: ArraySlice<Token>, scope: String) {
        guard !tokens.isEmpty else {
            forget(slot: slot)
            return
        }
        // The new resident is reported before the old one goes, so blocks both hold stay.
        events?.stored(tokens, scope: scope, medium: .device)
        let old = residents[slot]
        residents[slot] = nil
        if let old {
            cells -= old.tokens.count
            events?.removed(old.tokens[...], scope: old.scope, medium: .device)
        }
        tick += 1
        residents[slot] = Resident(tokens: Array(tokens), scope: scope, lastUsed: tick)
        cells += tokens.count
    }

    /// Stops tracking `slot`'s resident (the caller frees or reuses its KV), returning it.
    @discardableResult
    func forget(slot: Int) -> Resident? {
        guard let resident = residents[slot] else { return nil }
        residents[slot] = nil
        cells -= resident.tokens.count
        events?.removed(resident.tokens[...], scope: resident.scope, medium: .device)
        return resident
    }

    /// The free slot whose resident shares the longest prefix with `prompt` within
    /// `scope`, leaving at least the last prompt token to compute (its logits are needed).
    /// Ties go to the least recently used resident, whose tail is worth the least.
    func bestMatch(for prompt: [Token], scope: String, among free: [Int]) -> (slot: Int, length: Int)? {
        let limit = prompt.count - 1
        var best: (slot: Int, length: Int, used: UInt64)?
        for slot in free {
            guard let r = residents[slot], r.scope == scope else { continue }
            let n = commonPrefixLength(r.tokens, prompt, limit: limit)
            guard n > 0 else { continue }
            if best.map({ n > $0.length || (n == $0.length && r.lastUsed < $0.used) }) ?? true {
                best = (slot, n, r.lastUsed)
            }
        }
        return best.map { ($0.slot, $0.length) }
    }

    /// The free slot to give a request that reuses nothing: the lowest empty one (running
    /// sequences pack at the bottom), else the least recently used resident's.
    func coldest(among free: [Int]) -> Int? {
        if let empty = free.filter({ residents[$0] == nil }).min() { return empty }
        return free.min { residents[$0]!.lastUsed < residents[$1]!.lastUsed }
    }

    /// The least recently used resident among `free`, for eviction.
    func leastRecentlyUsed(among free: [Int]) -> Int? {
        free.filter { residents[$0] != nil }.min { residents[$0]!.lastUsed < residents[$1]!.lastUsed }
    }
}

/// How many leading tokens `a` and `b` share, at most `limit`.
func commonPrefixLength(_ a: [Token], _ b: [Token], limit: Int) -> Int {
    let n = min(a.count, b.count, max(limit, 0))
    var i = 0
    while i < n && a[i] == b[i] { i += 1 }
    return i
}
