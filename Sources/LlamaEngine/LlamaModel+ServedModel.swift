public import CorralCore

/// The real model behind the routes.
extension LlamaModel: ServedModel {
    /// The constraint as GBNF from llama.cpp's converter, parsed against this vocabulary.
    public func grammar(for constraint: OutputConstraint) throws(ConstraintError) -> String {
        let gbnf = try constraint.gbnf()
        try checkGrammar(gbnf)
        return gbnf
    }
}
