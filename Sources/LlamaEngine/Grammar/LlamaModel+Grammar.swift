import CLlama
public import CorralCore

extension LlamaModel {
    /// Parses `gbnf` against this model's vocabulary, as the sampler will, and keeps the
    /// parse in `grammars` for the samplers to clone.
    /// - Throws: `ConstraintError` with the parser's reason when llama.cpp rejects it.
    public func checkGrammar(_ gbnf: String) throws(ConstraintError) {
        try OutputConstraint.checkRepetitions(gbnf)
        try grammars.compiled(GrammarSpec(gbnf), model: self)
    }

    /// A fresh grammar sampler for `spec` in its start state, cloned from the parse in
    /// `grammars` (parsed now on a miss); nil when the grammar does not parse, as
    /// validation has already refused such a request.
    func grammarSampler(_ spec: GrammarSpec) -> UnsafeMutablePointer<llama_sampler>? {
        (try? grammars.compiled(spec, model: self))?.instance()
    }
}
