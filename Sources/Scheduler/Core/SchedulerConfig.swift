/// Scheduler limits and policy.
public struct SchedulerConfig: Sendable, Equatable {
    /// Tokens per engine step (decode tokens first, then prefill chunks).
    public var maxBatchTokens: Int
    /// Sequences in the running batch at once.
    public var maxRunningSequences: Int
    /// Waiting requests beyond which `submit` fails with `.overloaded`.
    public var maxWaitingRequests: Int
    /// Waiting prompt tokens beyond which `submit` fails with `.overloaded`.
    public var maxWaitingTokens: Int
    /// Longest sequence (prompt plus output); 0 means the KV capacity.
    public var maxModelLength: Int
    /// Order of admission and prefill.
    public var policy: Policy
    /// Whether decode tokens or prompt chunks get a step's budget first.
    public var stepOrder: StepOrder
    /// Keep finished sequences' KV and reuse it for requests with the same prefix
    /// (`NIM_ENABLE_KV_CACHE_REUSE`): in the slot a sequence leaves (`SlotCache`), or, when
    /// the executor has slots beyond `maxRunningSequences`, in hashed blocks (`PrefixCache`).
    public var prefixCaching: Bool
    /// Tokens per hashed prefix block, and the shortest slot reuse worth taking a slot for.
    public var prefixBlockSize: Int
    /// While sequences decode, start at most one prompt per step: where compute grows with
    /// every token (a CPU), prompts computed one after another get their first tokens
    /// sooner on average than prompts computed together, at the same total cost.
    public var serialPrefill = false
    /// Bytes of the prefix cache's host-RAM tier (slot residents saved when their slot is
    /// reused); 0 turns the tier off.
    public var hostCacheBytes: Int
    /// Speculative decoding (off unless set).
    public var speculation = SpeculationConfig()
    /// Most LoRA adapters with running sequences at once (vLLM's `--max-loras`,
    /// `NIM_MAX_GPU_LORAS`); the base model does not count.
    public var maxLoras = 8

    /// What a step serves first.
    public enum StepOrder: String, Sendable, CaseIterable {
        /// Every decoding sequence gets its token, then prompt chunks share what is left.
        case decodeFirst = "decode-first"
        /// A step with any prompt work runs only prompt work (for comparison).
        case prefillFirst = "prefill-first"
    }

    /// Admission order.
    public enum Policy: String, Sendable, CaseIterable {
        /// First come, first served; `priority` is ignored and never preempts.
        case fcfs
        /// Lower `priority` first, then first come, first served. A waiting request
        /// preempts running ones of strictly lower priority when it has no room.
        case priority
        /// As `priority`, and within a priority tenants share by weight (weighted fair
        /// queuing on tokens served); within a tenant, first come, first served. With one
        /// tenant it is `priority`.
        case fair
    }

    /// Creates a configuration with serving defaults for a small CPU machine.
    public init(maxBatchTokens: Int = 512, maxRunningSequences: Int = 16, maxWaitingRequests: Int = 256,
                maxWaitingTokens: Int = 262_144, maxModelLength: Int = 0, policy: Policy = .fair,
                prefixCaching: Bool = false, prefixBlockSize: Int = 16, hostCacheBytes: Int = 0,
                stepOrder: StepOrder = .decodeFirst) {
        self.maxBatchTokens = maxBatchTokens
        self.maxRunningSequences = maxRunningSequences
        self.maxWaitingRequests = maxWaitingRequests
        self.maxWaitingTokens = maxWaitingTokens
        self.maxModelLength = maxModelLength
        self.policy = policy
        self.prefixCaching = prefixCaching
        self.prefixBlockSize = prefixBlockSize
        self.hostCacheBytes = hostCacheBytes
        self.stepOrder = stepOrder
    }
}
