/// One sequence's KV, copied out of the engine into host memory so that a slot can be
/// reused while the conversation it held stays restorable (the prefix cache's host tier).
public struct SavedKV: Sendable {
    /// The engine's serialized state (`llama_state_seq_get_data_ext`).
    public var bytes: [UInt8]
    /// KV positions it holds.
    public var length: Int

    /// Wraps a saved state.
    public init(bytes: [UInt8], length: Int) {
        self.bytes = bytes
        self.length = length
    }
}
