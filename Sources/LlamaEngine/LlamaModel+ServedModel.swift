public import CorralCore

extension LlamaModel: ServedModel {
    public func prompt(for messages: [ChatMessage]) throws -> String { try applyChatTemplate(messages) }

    public func grammar(for constraint: OutputConstraint) throws(ConstraintError) -> String {
        let gbnf = try constraint.gbnf()
        try checkGrammar(gbnf)
        return gbnf
    }
}
