/// How to choose the next token. Defaults follow OpenAI's API: temperature 1, no
/// truncation, no penalties.
public struct SamplingParameters: Sendable, Equatable {
    /// Softmax temperature; 0 means greedy (argmax).
    public var temperature: Float = 1
    /// Keep only the k most likely tokens; 0 disables.
    public var topK: Int = 0
    /// Nucleus sampling mass in (0, 1]; 1 disables.
    public var topP: Float = 1
    /// Drop tokens below `minP` times the top probability; 0 disables.
    public var minP: Float = 0
    /// Multiplicative repetition penalty (llama.cpp/vLLM style); 1 disables.
    public var repetitionPenalty: Float = 1
    /// OpenAI presence penalty; 0 disables.
    public var presencePenalty: Float = 0
    /// OpenAI frequency penalty; 0 disables.
    public var frequencyPenalty: Float = 0
    /// How many recent tokens the penalties look at.
    public var penaltyWindow: Int = 64
    /// Additive biases on logits, by token.
    public var logitBias: [Token: Float] = [:]
    /// Random seed; `nil` draws one.
    public var seed: UInt32?
    /// A grammar every output token must keep valid (from an `OutputConstraint`, or a
    /// template's tool-call grammar); `nil` for unconstrained output.
    public var grammar: GrammarSpec?
    /// A thinking model's reasoning section, when its length is limited or a lazy grammar
    /// must wait for it to close.
    public var thinking: ThinkingSection?

    /// Creates parameters; see each property for its default.
    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, presencePenalty: Float = 0, frequencyPenalty: Float = 0,
                logitBias: [Token: Float] = [:], seed: UInt32? = nil, grammar: GrammarSpec? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.logitBias = logitBias
        self.seed = seed
        self.grammar = grammar
    }

    /// Greedy decoding: always the most likely token.
    public static let greedy = SamplingParameters(temperature: 0)

    /// True when every choice is the argmax.
    public var isGreedy: Bool { temperature <= 0 }

    /// True when any penalty is active.
    public var hasPenalties: Bool { repetitionPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0 }
}
