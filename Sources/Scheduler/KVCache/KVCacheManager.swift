import CorralCore

/// The owner of the KV cache (vLLM's `kv_cache_manager`): the running slots, the prefix
/// cache in either layout (hashed blocks in spare slots, or residents of free slots with
/// their host-RAM tier), and every executor call that changes what the cache holds
/// (copy, move, release, trim, save and restore).
///
/// The planner asks it for room and slots and never touches cells itself, so the
/// accounting has one owner: cells used by running sequences (`SequenceState.ownCells`,
/// which the caller sums and passes in) + cells `cached` + cells free = the capacity.
final class KVCacheManager {
    let executor: any BatchExecutor
    /// Whether finished prompts are looked up (`NIM_ENABLE_KV_CACHE_REUSE`); the block
    /// cache may exist without it, for sibling choices' forks.
    let prefixCaching: Bool
    /// Tokens per prefix block, and the shortest slot reuse worth taking a slot for.
    let blockSize: Int
    /// Free running slots, highest first, so `popLast` hands out the lowest: llama.cpp
    /// splits a partitioned batch wherever slot ids stop being consecutive, and each split
    /// is another pass over the weights, so running sequences stay packed at the bottom.
    var freeSlots: [Int]
    /// With spare slots beyond the running ones (the unified layout): hashed blocks of
    /// finished prompts, and forks of prompts for sibling choices (n > 1).
    let prefixCache: PrefixCache?
    /// With prefix caching and no spare slots for the block cache (the partitioned layout):
    /// the KV each free slot still holds.
    let slotCache: SlotCache?
    /// The slot cache's host-RAM tier.
    let hostCache: HostCache?
    /// Slots copied from while planning this step: the engine copies a partition at the
    /// next decode, so nothing may be restored into them before it.
    var copiedThisStep: Set<Int> = []

    /// Lays the executor's slots out: the first `maxRunningSequences` run sequences, and
    /// any past them hold block-cache entries.
    init(executor: any BatchExecutor, config: SchedulerConfig) {
        self.executor = executor
        self.prefixCaching = config.prefixCaching
        self.blockSize = max(config.prefixBlockSize, 1)
        let runningSlots = min(config.maxRunningSequences, executor.slotCount)
        self.freeSlots = Array((0..<runningSlots).reversed())
        // The cache also holds forks of prompts for sibling choices (n > 1), so it exists
        // whenever there are spare slots; lookups of finished prompts need prefixCaching.
        self.prefixCache = executor.slotCount > runningSlots
            ? PrefixCache(slots: Array(runningSlots..<executor.slotCount), blockSize: blockSize)
            : nil
        self.slotCache = config.prefixCaching && prefixCache == nil ? SlotCache(slots: executor.slotCount) : nil
        self.hostCache = slotCache != nil && config.hostCacheBytes > 0 ? HostCache(capacityBytes: config.hostCacheBytes) : nil
    }

    /// The KV-event recorder every store reports to, once `publishEvents` is called.
    private(set) var events: KVEventRecorder?

    /// Starts recording the caches' changes as KV events (they start empty, so nothing
    /// earlier is missed).
    func publishEvents() {
        let recorder = KVEventRecorder(blockSize: blockSize)
        events = recorder
        prefixCache?.events = recorder
        slotCache?.events = recorder
        hostCache?.events = recorder
    }

    /// Forgets the last plan's copies; the engine has run them.
    func beginStep() {
        copiedThisStep.removeAll(keepingCapacity: true)
    }

    // MARK: Accounting

    /// Cells held by cached prefixes, in either cache.
    var cached: Int { (prefixCache?.cells ?? 0) + (slotCache?.cells ?? 0) }

    /// Cells free now, counting cached prefixes as used.
    /// - Parameter used: cells running sequences hold beyond what they borrow.
    func free(used: Int) -> Int { executor.kvCapacity - used - cached }

    /// Bytes of saved state in the host tier.
    var hostCachedBytes: Int { hostCache?.bytes ?? 0 }

    /// Evicts unborrowed cached prefixes until `cells` are free or nothing is left to evict;
    /// the resident of slot `keeping` stays (a request is about to reuse it).
    /// - Parameter used: cells running sequences hold (eviction does not change it).
    func makeRoom(_ cells: Int, used: Int, keeping: Int? = nil) {
        if let cache = prefixCache {
            while free(used: used) < cells, cache.evictOne(release: { executor.release(slot: $0) }) {}
        }
        while free(used: used) < cells, let slot = slotCache?.leastRecentlyUsed(among: freeSlots.filter { $0 != keeping }) {
            evictResident(of: slot)
        }
    }

    // MARK: Slots

    /// The lowest free running slot.
    func takeSlot() -> Int? { freeSlots.popLast() }

    /// Returns a slot to the free list, keeping it sorted highest first.
    func giveBackSlot(_ slot: Int) {
        let at = freeSlots.firstIndex { $0 < slot } ?? freeSlots.endIndex
        freeSlots.insert(slot, at: at)
    }

    /// Frees a sequence's slot and KV, and ends its borrow of a cached prefix. With `keep`
    /// and the slot cache, the KV stays in the slot as a resident for a later request.
    func release(_ seq: SequenceState, keep: Bool = false) {
        if seq.forks.holdsReservation, let entry = seq.forks.leader?.forks.entry {
            giveBack(entry)
            seq.forks.holdsReservation = false
        }
        if let entry = seq.borrow.entry { giveBack(entry) }
        seq.borrow.entry = nil
        seq.borrow.length = 0
        if let slot = seq.slot {
            if keep, let cache = slotCache, seq.computed > 0 {
                // A failed step may have left positions past `computed`; the resident is exact.
                executor.trim(slot: slot, from: seq.computed)
                cache.keep(slot: slot, tokens: seq.tokens[..<seq.computed], scope: seq.cacheScope)
            } else {
                slotCache?.forget(slot: slot)
                executor.release(slot: slot)
            }
            giveBackSlot(slot)
            seq.slot = nil
        }
    }
}
