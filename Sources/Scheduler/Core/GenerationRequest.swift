public import CorralCore

/// One generation request, already tokenized, as the HTTP layer hands it to the scheduler.
public struct GenerationRequest: Sendable {
    /// The prompt, tokenized (chat template already applied).
    public var prompt: [Token]
    /// Most tokens to generate.
    public var maxTokens: Int
    /// How to choose tokens.
    public var sampling: SamplingParameters
    /// Strings that end generation; they are not part of the output.
    public var stop: [String]
    /// Keep generating past end-of-generation tokens.
    public var ignoreEOS: Bool
    /// End-of-generation tokens are ignored until this many tokens exist.
    public var minTokens: Int
    /// Lower runs first (vLLM's convention); ties go first-come, first-served.
    public var priority: Int
    /// How many top alternatives to report per token; `nil` for no logprobs.
    public var logprobs: Int?
    /// Fail with `.queueTimeout` if not started within this many seconds.
    public var queueTimeout: Double?
    /// Control tokens whose text is part of the output: a template's tool-call opener
    /// (Mistral's `[TOOL_CALLS]`), which the parser must see.
    public var shownSpecialTokens: Set<Token> = []
    /// Who sent it: fair share and the per-tenant totals go by this name.
    public var tenant = "default"
    /// The tenant's weight in fair share (from the keys file).
    public var tenantWeight = 1.0
    /// Scopes prefix-cache reuse further than the tenant (vLLM's `cache_salt`): only
    /// requests of the same tenant and salt share cached KV.
    public var cacheSalt = ""
    /// An embedding request: the prompt is computed whole in one pooled pass, and the
    /// summary carries its vector; nothing is generated and `maxTokens` is not used.
    public var embedding = false
    /// The API route that sent it (`/v1/chat/completions`, `/v1/embeddings`, …): the
    /// `endpoint` label of request and tenant metrics. Callers use a fixed set of routes,
    /// which bounds the per-endpoint totals; empty for a library caller.
    public var endpoint = ""
    /// The LoRA adapter it runs under (`BatchScheduler.loadAdapter`'s id); 0 for the base
    /// model. Its KV is its adapter's: no other adapter's request reuses it.
    public var adapter = 0

    /// Creates a request; by default greedy-free sampling, no stops, priority 0.
    public init(prompt: [Token], maxTokens: Int, sampling: SamplingParameters = SamplingParameters(),
                stop: [String] = [], ignoreEOS: Bool = false, minTokens: Int = 0, priority: Int = 0,
                logprobs: Int? = nil, queueTimeout: Double? = nil) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.ignoreEOS = ignoreEOS
        self.minTokens = minTokens
        self.priority = priority
        self.logprobs = logprobs
        self.queueTimeout = queueTimeout
    }
}

/// Why a sequence finished normally.
public enum FinishReason: String, Sendable, Codable {
    /// End-of-generation token or a stop string.
    case stop
    /// `max_tokens` or the end of the context.
    case length
}

/// What a request produced, step by step. Every stream ends with exactly one
/// `.finished` or `.failed`.
public enum GenerationEvent: Sendable {
    /// New output: text that is safe to show (no partial character, no possible stop
    /// string prefix) and the tokens generated since the last event.
    case delta(text: String, tokens: [Token], logprobs: [TokenLogprobs])
    /// The request completed.
    case finished(GenerationSummary)
    /// The request ended with an error; nothing more follows.
    case failed(SchedulerError)
}

/// Counts and timings of a finished request.
public struct GenerationSummary: Sendable, Equatable {
    /// Why it stopped.
    public var reason: FinishReason
    /// Prompt tokens.
    public var promptTokens: Int
    /// Generated tokens, including an end-of-generation token.
    public var completionTokens: Int
    /// Seconds from submission to first scheduling.
    public var queueTime: Double
    /// Seconds from submission to the first generated token.
    public var timeToFirstToken: Double
    /// Seconds from submission to the end.
    public var totalTime: Double
    /// Times this request was preempted and recomputed.
    public var preemptions: Int
    /// Prompt tokens whose KV came from the prefix cache instead of being computed
    /// (`usage.prompt_tokens_details.cached_tokens`).
    public var cachedTokens = 0
    /// Speculative draft tokens verified for it, and how many were accepted.
    public var draftTokens = 0
    public var acceptedDraftTokens = 0
    /// An embedding request's pooled vector, normalized to length 1.
    public var embedding: [Float]?
    /// The request's `endpoint` (see `GenerationRequest.endpoint`).
    public var endpoint = ""

    /// Mean seconds between generated tokens after the first.
    public var meanInterTokenLatency: Double {
        completionTokens > 1 ? (totalTime - timeToFirstToken) / Double(completionTokens - 1) : 0
    }
}
