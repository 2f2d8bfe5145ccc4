import CorralCore

/// One entry of OpenAI's `tools`: `{"type": "function", "function": {name, description,
/// parameters, strict}}`. The parameters' text is read from the body separately, to keep
/// its key order.
// Hand-written, not generated: a generated type would decode `parameters` into a tree; its text is cut from the body, keys in order.
struct ToolBody: Decodable, Sendable {
    var name: String
    var description: String?

    /// OpenAI's rule for function names.
    static func validName(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    private struct Function: Decodable {
        var name: String
        var description: String?

        init(from decoder: any Decoder) throws {
            // `strict` asks for arguments that always match the schema; Corral's grammar
            // always holds them to it, so strict or not gives the same output.
            try rejectUnknownFields(decoder, allowed: ["name", "description", "parameters", "strict"])
            let c = try decoder.container(keyedBy: FieldKey.self)
            name = try c.decode(String.self, forKey: FieldKey("name"))
            guard ToolBody.validName(name) else {
                throw DecodingError.dataCorruptedError(forKey: FieldKey("name"), in: c,
                    debugDescription: "a function name is 1 to 64 letters, digits, underscores or dashes")
            }
            description = try c.decodeIfPresent(String.self, forKey: FieldKey("description"))
            if c.contains(FieldKey("parameters")), !(try c.decodeNil(forKey: FieldKey("parameters"))) {
                guard (try? c.decode(SchemaObject.self, forKey: FieldKey("parameters"))) != nil else {
                    throw DecodingError.dataCorruptedError(forKey: FieldKey("parameters"), in: c,
                        debugDescription: "parameters must be a JSON Schema object")
                }
            }
            _ = try c.decodeIfPresent(Bool.self, forKey: FieldKey("strict"))
        }
    }

    init(from decoder: any Decoder) throws {
        try rejectUnknownFields(decoder, allowed: ["type", "function"])
        let c = try decoder.container(keyedBy: FieldKey.self)
        let type = try c.decode(String.self, forKey: FieldKey("type"))
        guard type == "function" else {
            throw DecodingError.dataCorruptedError(forKey: FieldKey("type"), in: c,
                debugDescription: "only function tools are supported, not '\(type)'")
        }
        let function = try c.decode(Function.self, forKey: FieldKey("function"))
        name = function.name
        description = function.description
    }
}

/// OpenAI's `tool_choice`: "none", "auto", "required", or `{"type": "function",
/// "function": {"name": …}}`.
// Hand-written, not generated: it refuses unknown fields with a 400 naming them, which generated Codable types drop.
struct ToolChoiceBody: Decodable, Sendable {
    var choice: ToolChoice

    private struct Named: Decodable {
        struct Function: Decodable {
            var name: String
            init(from decoder: any Decoder) throws {
                try rejectUnknownFields(decoder, allowed: ["name"])
                name = try decoder.container(keyedBy: FieldKey.self).decode(String.self, forKey: FieldKey("name"))
            }
        }
        var function: Function
        init(from decoder: any Decoder) throws {
            try rejectUnknownFields(decoder, allowed: ["type", "function"])
            let c = try decoder.container(keyedBy: FieldKey.self)
            guard try c.decode(String.self, forKey: FieldKey("type")) == "function" else {
                throw DecodingError.dataCorruptedError(forKey: FieldKey("type"), in: c, debugDescription: "must be 'function'")
            }
            function = try c.decode(Function.self, forKey: FieldKey("function"))
        }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let word = try? c.decode(String.self) {
            switch word {
            case "none": choice = .none
            case "auto": choice = .auto
            case "required": choice = .required
            default:
                throw DecodingError.dataCorruptedError(in: c,
                    debugDescription: "must be none, auto, required or a named function, not '\(word)'")
            }
        } else {
            choice = .function(try c.decode(Named.self).function.name)
        }
    }
}

/// One call in an assistant message of the history: `{"id", "type": "function",
/// "function": {"name", "arguments"}}`.
// Hand-written, not generated: it refuses unknown fields with a 400 naming them, which generated Codable types drop.
struct ToolCallBody: Decodable, Sendable {
    var call: ToolCall

    private struct Function: Decodable {
        var name: String
        var arguments: String
        init(from decoder: any Decoder) throws {
            try rejectUnknownFields(decoder, allowed: ["name", "arguments"])
            let c = try decoder.container(keyedBy: FieldKey.self)
            name = try c.decode(String.self, forKey: FieldKey("name"))
            arguments = try c.decode(String.self, forKey: FieldKey("arguments"))
        }
    }

    init(from decoder: any Decoder) throws {
        try rejectUnknownFields(decoder, allowed: ["id", "type", "function"])
        let c = try decoder.container(keyedBy: FieldKey.self)
        if let type = try c.decodeIfPresent(String.self, forKey: FieldKey("type")), type != "function" {
            throw DecodingError.dataCorruptedError(forKey: FieldKey("type"), in: c, debugDescription: "must be 'function'")
        }
        let function = try c.decode(Function.self, forKey: FieldKey("function"))
        call = ToolCall(id: try c.decode(String.self, forKey: FieldKey("id")), name: function.name,
                        arguments: function.arguments)
    }
}
