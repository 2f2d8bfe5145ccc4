import Foundation
import CorralCore
import LlamaEngine
import Testing

/// Constraints become grammars through llama.cpp's converter, and the sampler keeps SmolLM2's
/// output inside them, greedy and sampled.
@Suite("Output constraints", .serialized)
struct OutputConstraintTests {
    let model = TestModels.smol

    func generate(_ text: String, _ constraint: OutputConstraint, temperature: Float = 0, seed: UInt32 = 1,
                  maxTokens: Int = 48) throws -> String {
        let chat = try model.prompt(for: [ChatMessage(role: "user", content: text)])
        let prompt = try model.tokenize(chat, addSpecial: true, parseSpecial: true)
        var parameters = SamplingParameters(temperature: temperature, seed: seed)
        let gbnf = try constraint.gbnf()
        try model.checkGrammar(gbnf)
        parameters.grammar = GrammarSpec(gbnf)
        let tokens = try TestModels.context(model).generate(prompts: [prompt], maxTokens: maxTokens, parameters: parameters)[0]
        return String(decoding: tokens.flatMap { model.tokenBytes($0) }, as: UTF8.self)
    }

    @Test(arguments: [Float(0), 0.9])
    func choiceIsOneOfTheChoices(temperature: Float) throws {
        let choices = ["red", "green", "blue \"sky\""]
        for seed in UInt32(1)...3 {
            let out = try generate("Name a colour.", .choice(choices), temperature: temperature, seed: seed)
            #expect(choices.contains(out), "\(out)")
        }
    }

    @Test func regexOutputFullyMatches() throws {
        let pattern = #"[A-Z][a-z]{2,5} [0-9]{3}-[0-9]{4}"#
        let out = try generate("Give a name and a phone number.", .regex(pattern), temperature: 0.8)
        #expect(out.wholeMatch(of: try Regex(pattern)) != nil, "\(out)")
    }

    @Test func schemaOutputParsesAndHasTheRequiredFields() throws {
        let schema = #"{"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120}},"required":["name","age"],"additionalProperties":false}"#
        let out = try generate("Describe a person as JSON.", .jsonSchema(schema), maxTokens: 64)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
        #expect(object["name"] is String)
        let age = try #require(object["age"] as? Int)
        #expect((0...120).contains(age))
        #expect(Set(object.keys) == ["name", "age"])
    }

    @Test func jsonObjectIsAnObject() throws {
        let out = try generate("Reply with JSON.", .jsonObject, temperature: 0.7, maxTokens: 64)
        // Cut short by max_tokens it may not parse; a complete one must be an object.
        if let parsed = try? JSONSerialization.jsonObject(with: Data(out.utf8)) { #expect(parsed is [String: Any]) }
        #expect(out.first == "{", "\(out)")
    }

    @Test func badConstraintsSayWhy() throws {
        #expect(throws: ConstraintError.self) { try OutputConstraint.jsonSchema("{not json").gbnf() }
        #expect(throws: ConstraintError.self) { try OutputConstraint.jsonSchema(##"{"$ref":"#/$defs/missing"}"##).gbnf() }
        #expect(throws: ConstraintError.self) { try OutputConstraint.regex("(?<=a)b").gbnf() }
        #expect(throws: ConstraintError.self) { try OutputConstraint.regex("(ab").gbnf() }
        #expect(throws: ConstraintError.self) { try OutputConstraint.choice([]).gbnf() }
        // A schema whose pattern the converter would quietly widen to "any string".
        #expect(throws: ConstraintError.self) {
            try OutputConstraint.jsonSchema(#"{"type":"string","pattern":"^(?=x)x$"}"#).gbnf()
        }
        #expect(throws: ConstraintError.self) { try model.checkGrammar("root ::= missing") }
        #expect(throws: ConstraintError.self) { try model.checkGrammar("root ::= \"unterminated") }
        try model.checkGrammar(#"root ::= "yes" | "no""#)
    }
}
