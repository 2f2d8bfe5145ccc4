/// A least-recently-used map that never holds more than `capacity` entries: the grammar
/// caches are keyed by client text, so without a bound a stream of distinct schemas would
/// grow it forever. Not thread-safe; its owner keeps it behind a lock.
struct BoundedCache<Key: Hashable, Value> {
    /// Most entries held; inserting past it evicts the least recently used.
    let capacity: Int
    private var entries: [Key: (value: Value, used: UInt64)] = [:]
    /// A logical clock: each lookup or insert stamps its entry with the next tick.
    private var tick: UInt64 = 0

    /// An empty cache of at most `capacity` (at least 1) entries.
    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    /// Entries held now.
    var count: Int { entries.count }

    /// The value for `key`, marking it recently used; nil when absent.
    mutating func value(for key: Key) -> Value? {
        guard let entry = entries[key] else { return nil }
        tick += 1
        entries[key] = (entry.value, tick)
        return entry.value
    }

    /// Holds `value` for `key`, evicting the least recently used entry when full. A linear
    /// scan finds it: at 64 entries that costs less than the list a linked LRU would keep.
    mutating func insert(_ value: Value, for key: Key) {
        tick += 1
        entries[key] = (value, tick)
        while entries.count > capacity, let oldest = entries.min(by: { $0.value.used < $1.value.used })?.key {
            entries.removeValue(forKey: oldest)
        }
    }
}
