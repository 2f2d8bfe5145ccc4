public import CorralCore

/// The real model behind the routes.
extension LlamaModel: ServedModel {
    /// The constraint as GBNF from llama.cpp's converter, parsed against this vocabulary,
    /// once per content (`grammars` keeps both for repeats).
    public func grammar(for constraint: OutputConstraint) throws(ConstraintError) -> String {
        try grammars.grammar(for: constraint, model: self)
    }

    /// Parses a template's grammar as the sampler will use it, lazy or not, and keeps it
    /// for the sequences' samplers to clone.
    public func check(_ grammar: GrammarSpec) throws(ConstraintError) {
        guard !grammar.text.allSatisfy(\.isWhitespace) else { throw ConstraintError("the grammar is empty") }
        try OutputConstraint.checkRepetitions(grammar.text)
        try grammars.compiled(grammar, model: self)
    }
}
