import Foundation
import CorralCore

extension GenerationOptions {
    /// The grammar the output is held to, checked against the vocabulary: the request's
    /// output constraint, or the template's tool-call grammar. The one place a constraint
    /// is read, converted and parsed; the model keeps the parse, which every admission of
    /// the request's sequences clones. A call cannot also be held to a response format, so
    /// asking for both is a 400.
    /// - Parameters:
    ///   - body: the request's bytes, to read schemas with their keys in order.
    ///   - tools: the chat template's tool-call grammar, when tools may be called.
    func outputGrammar(for model: any ServedModel, body: Data, tools: GrammarSpec?) throws(APIError) -> GrammarSpec? {
        let constraint = try grammar(for: model, body: body)
        guard let tools else { return constraint }
        if constraint != nil {
            throw .badRequest("an output constraint cannot be combined with tool calls; set tool_choice to none",
                              param: "tool_choice")
        }
        do {
            try model.check(tools)
        } catch {
            throw .badRequest("the tools' schemas give a grammar that does not parse: \(error.message)", param: "tools")
        }
        return tools
    }

    /// The request's output constraint as a checked GBNF grammar, or nil when it has none.
    /// Exactly one of `response_format` (json_object, json_schema), `nvext.guided_*` and
    /// llama-server's `json_schema` and `grammar` may be given. Every failure is a 400 naming
    /// the field, with the converter's or the grammar parser's reason.
    private func grammar(for model: any ServedModel, body: Data) throws(APIError) -> GrammarSpec? {
        let found = try constraints(body: body)
        guard let (param, constraint) = found.first else { return nil }
        guard found.count == 1 else {
            throw .badRequest("give at most one output constraint, not \(found.map(\.param).joined(separator: " and "))",
                              param: found[1].param)
        }
        if ignore_eos == true {
            throw .badRequest("ignore_eos cannot be combined with \(param): a completed grammar allows only the end of generation",
                              param: "ignore_eos")
        }
        do {
            return GrammarSpec(try model.grammar(for: constraint))
        } catch {
            throw .badRequest("\(param): \(error.message)", param: param)
        }
    }

    /// Every constraint the request names, with the field it came from.
    private func constraints(body: Data) throws(APIError) -> [(param: String, constraint: OutputConstraint)] {
        func schema(at path: [String]) throws(APIError) -> OutputConstraint {
            guard let text = RawJSON.member(at: path, in: body) else {
                throw .badRequest("\(path.joined(separator: ".")): not found in the body", param: path.joined(separator: "."))
            }
            // An empty schema means any JSON object, as llama-server reads it.
            return text.filter { !$0.isWhitespace } == "{}" ? .jsonObject : .jsonSchema(text)
        }
        var found: [(String, OutputConstraint)] = []
        if let format = response_format {
            switch format.type {
            case "json_object":
                found.append(("response_format", format.schema == nil ? .jsonObject : try schema(at: ["response_format", "schema"])))
            case "json_schema":
                guard format.json_schema?.schema != nil else {
                    throw .badRequest("response_format.json_schema.schema is required for type json_schema",
                                      param: "response_format.json_schema")
                }
                found.append(("response_format", try schema(at: ["response_format", "json_schema", "schema"])))
            default:
                break  // "text": no constraint
            }
        }
        if let ext = nvext {
            switch ext.guided_json {
            case .text(let text): found.append(("nvext.guided_json", .jsonSchema(text)))
            case .object: found.append(("nvext.guided_json", try schema(at: ["nvext", "guided_json"])))
            case nil: break
            }
            if let regex = ext.guided_regex { found.append(("nvext.guided_regex", .regex(regex))) }
            if let choices = ext.guided_choice { found.append(("nvext.guided_choice", .choice(choices))) }
            if let grammar = ext.guided_grammar { found.append(("nvext.guided_grammar", .grammar(grammar))) }
        }
        if json_schema != nil { found.append(("json_schema", try schema(at: ["json_schema"]))) }
        if let grammar { found.append(("grammar", .grammar(grammar))) }
        return found
    }
}
