import CorralCore

/// Turns the prefix cache's changes into vLLM-format KV events (`KVCacheEvent`): each store
/// (block entry, slot resident, host-tier entry) reports the tokens it starts and stops
/// holding, and the recorder counts every full block by hash and medium, so that a block
/// two entries share is stored once and removed only when the last one lets it go.
///
/// A run of new blocks is reported parent first: its parent is either the prompt's start
/// or a block already stored. Hashes chain from a seed of the cache scope (tenant,
/// `cache_salt`, adapter), so two tenants' identical prompts never share a hash and a
/// router cannot send one tenant to the other's cache.
///
/// Bounded: it counts only blocks the caches hold (themselves bounded by the KV capacity
/// and the host tier's bytes), and `take()` empties the pending events every step.
final class KVEventRecorder {
    private struct Key: Hashable {
        var hash: UInt64
        var medium: KVMedium
    }

    /// Tokens per block.
    let blockSize: Int
    private var counts: [Key: Int] = [:]
    private var pending: [KVCacheEvent] = []

    /// Creates a recorder whose first event tells consumers to forget what an earlier run
    /// of this server published.
    init(blockSize: Int) {
        self.blockSize = max(blockSize, 1)
        pending = [.cleared]
    }

    /// Blocks counted now, by medium (for tests and gauges).
    func blocks(in medium: KVMedium) -> Int { counts.keys.filter { $0.medium == medium }.count }

    /// A store started holding the KV of `tokens` in `scope`.
    func stored(_ tokens: ArraySlice<Token>, scope: String, medium: KVMedium) {
        let hashes = Self.blockHashes(tokens, blockSize: blockSize, scope: scope)
        guard !hashes.isEmpty else { return }
        let (adapter, extraKeys) = Self.parse(scope)
        var run: (start: Int, parent: UInt64?)?
        func flush(upTo end: Int) {
            guard let r = run else { return }
            let first = tokens.startIndex + r.start * blockSize
            pending.append(.stored(KVBlockRun(
                hashes: Array(hashes[r.start..<end]), parent: r.parent,
                tokens: Array(tokens[first..<tokens.startIndex + end * blockSize]), blockSize: blockSize,
                adapter: adapter, medium: medium, extraKeys: extraKeys)))
            run = nil
        }
        for (i, hash) in hashes.enumerated() {
            let key = Key(hash: hash, medium: medium)
            let count = counts[key, default: 0]
            counts[key] = count + 1
            if count == 0 {
                if run == nil { run = (i, i == 0 ? nil : hashes[i - 1]) }
            } else {
                flush(upTo: i)
            }
        }
        flush(upTo: hashes.count)
    }

    /// A store stopped holding the KV of `tokens` in `scope`.
    func removed(_ tokens: ArraySlice<Token>, scope: String, medium: KVMedium) {
        var gone: [UInt64] = []
        // Deepest first, so a consumer never holds a child whose parent it dropped.
        for hash in Self.blockHashes(tokens, blockSize: blockSize, scope: scope).reversed() {
            let key = Key(hash: hash, medium: medium)
            guard let count = counts[key] else { continue }
            if count <= 1 {
                counts[key] = nil
                gone.append(hash)
            } else {
                counts[key] = count - 1
            }
        }
        if !gone.isEmpty { pending.append(.removed(hashes: gone, medium: medium)) }
    }

    /// The events since the last call, in order.
    func take() -> [KVCacheEvent] {
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }

    // MARK: Hashing

    /// Chained 64-bit hashes of the full blocks of `tokens`: FNV-1a over the parent and the
    /// block's tokens, finished with SplitMix64's mixer. Stable across runs and machines.
    static func blockHashes(_ tokens: ArraySlice<Token>, blockSize: Int, scope: String) -> [UInt64] {
        var hashes: [UInt64] = []
        hashes.reserveCapacity(tokens.count / blockSize)
        var parent = seed(scope)
        var start = tokens.startIndex
        while start + blockSize <= tokens.endIndex {
            var h = 0xCBF2_9CE4_8422_2325 ^ parent
            for t in tokens[start..<start + blockSize] { h = (h ^ UInt64(UInt32(bitPattern: t))) &* 0x0000_0100_0000_01B3 }
            parent = mix(h)
            hashes.append(parent)
            start += blockSize
        }
        return hashes
    }

    /// The chain's seed: the scope's bytes, hashed (the default scope's is a constant).
    private static func seed(_ scope: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in scope.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return mix(h)
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The adapter and the extra keys of a cache scope (`SequenceState.cacheScope`:
    /// tenant, `cache_salt`, then the adapter's id when not the base model).
    static func parse(_ scope: String) -> (adapter: Int?, extraKeys: [String]?) {
        let parts = scope.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        let tenant = parts.first ?? "", salt = parts.count > 1 ? parts[1] : ""
        let adapter = parts.count > 2 ? Int(parts[2]) : nil
        // (`default` is the one tenant of a server without a keys file)
        let plain = (tenant.isEmpty || tenant == "default") && salt.isEmpty
        return (adapter, plain ? nil : [tenant, salt])
    }
}
