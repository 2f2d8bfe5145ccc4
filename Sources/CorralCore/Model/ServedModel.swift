/// What the HTTP layer needs from a loaded model: its tokenizer and chat template, turning
/// output constraints into grammars, and what it says about itself. `LlamaModel` is the
/// real one; route tests use a fake, so they need no weights and no engine.
public protocol ServedModel: AnyObject, Sendable {
    /// Where the weights came from.
    var path: String { get }
    /// The engine's one-line description (architecture, size, quantization).
    var description: String { get }
    /// Parameters in all.
    var parameterCount: UInt64 { get }
    /// Bytes of weights.
    var sizeBytes: UInt64 { get }
    /// What the model file declares (layers, heads, context, template).
    var metadata: ModelMetadata { get }
    /// Prompt text to tokens.
    func tokenize(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Token]
    /// Tokens to text; `special` renders control tokens too.
    func detokenize(_ tokens: [Token], special: Bool) -> String
    /// The bytes one token stands for; `special` renders control tokens too.
    func tokenBytes(_ token: Token, special: Bool) -> [UInt8]
    /// Whether `token` is in the vocabulary.
    func isValidToken(_ token: Token) -> Bool
    /// A chat request through the model's chat template: the prompt (the assistant's turn
    /// opened), the tool-call grammar and a parser for the output.
    func renderChat(_ request: ChatRequest) throws -> ChatPlan
    /// What the chat template can do (tool-call format, thinking).
    var chatCapabilities: ChatCapabilities { get }
    /// `constraint` as a grammar the sampler enforces, checked against this vocabulary.
    /// - Throws: `ConstraintError` with the reason it cannot be enforced.
    func grammar(for constraint: OutputConstraint) throws(ConstraintError) -> String
    /// Checks a template's grammar (tool calls) against this vocabulary as the sampler will
    /// use it, lazy or not.
    /// - Throws: `ConstraintError` with the reason it cannot be enforced.
    func check(_ grammar: GrammarSpec) throws(ConstraintError)
}

extension ServedModel {
    /// Checks the grammar's text as a GBNF constraint, for models whose grammars do not
    /// depend on how they start.
    public func check(_ grammar: GrammarSpec) throws(ConstraintError) {
        _ = try self.grammar(for: .grammar(grammar.text))
    }

    /// A conversation as prompt text, with no tools, ending with the assistant's turn opened.
    public func prompt(for messages: [ChatMessage]) throws -> String {
        try renderChat(ChatRequest(messages: messages)).prompt
    }
}
