/// How many threads the engine runs, and where the figure came from (`/v1/metadata`'s
/// `engine_threads`). `CorralEngine` works it out from the host (`CPUBudget.resolve`).
public struct CPUBudget: Sendable, Encodable, Equatable {
    /// Threads the engine gets.
    public var threads: Int
    /// Where the figure came from: `configured`, `cgroup` or `affinity`.
    public var source: String

    /// Creates a value.
    public init(threads: Int, source: String) {
        self.threads = threads
        self.source = source
    }
}
