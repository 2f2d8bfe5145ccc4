/// A grammar for the sampler, with how it starts: from the first token, or lazily, once
/// the output matches a trigger (a tool-call opener, for `tool_choice: auto`).
public struct GrammarSpec: Sendable, Hashable {
    /// GBNF, start rule `root`.
    public var text: String
    /// Whether it waits for a trigger.
    public var lazy: Bool
    /// Regexes over the output that wake a lazy grammar.
    public var triggerPatterns: [String]
    /// Tokens that wake a lazy grammar.
    public var triggerTokens: [Token]
    /// Tokens the template already put at the start of the turn, which a tool-call grammar
    /// expects to have seen (llama.cpp's grammar prefill).
    public var prefill: [Token]

    /// A grammar in force from the first token, with nothing prefilled.
    public init(_ text: String) {
        self.init(text: text, lazy: false, triggerPatterns: [], triggerTokens: [], prefill: [])
    }

    /// Creates a grammar.
    public init(text: String, lazy: Bool, triggerPatterns: [String], triggerTokens: [Token], prefill: [Token]) {
        self.text = text
        self.lazy = lazy
        self.triggerPatterns = triggerPatterns
        self.triggerTokens = triggerTokens
        self.prefill = prefill
    }
}

/// A thinking model's reasoning section and a budget for it, enforced in the sampler by
/// llama.cpp's reasoning-budget sampler: once `budget` tokens are spent inside the section,
/// the first end tag is forced.
public struct ThinkingSection: Sendable, Equatable {
    /// The tokens that open the section.
    public var start: [Token]
    /// Token sequences that close it; the first is the one forced.
    public var ends: [[Token]]
    /// Tokens of the turn's opening that the template already wrote (it may open the section).
    public var prefill: [Token]
    /// Most tokens inside the section; `nil` for no limit.
    public var budget: Int?

    /// Creates a section.
    public init(start: [Token], ends: [[Token]], prefill: [Token], budget: Int? = nil) {
        self.start = start
        self.ends = ends
        self.prefill = prefill
        self.budget = budget
    }
}
