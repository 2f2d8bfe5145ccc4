/// OpenAI's `response_format`: `text`, `json_object` (with llama-server's optional
/// `schema`), or `json_schema` with `{name, description, schema, strict}`.
// Hand-written, not generated: it refuses unknown fields with a 400 naming them, which generated Codable types drop.
struct ResponseFormat: Decodable, Sendable {
    var type: String
    var json_schema: JSONSchemaFormat?
    var schema: SchemaObject?

    /// The types this server enforces.
    static let types: Set<String> = ["text", "json_object", "json_schema"]

    struct JSONSchemaFormat: Decodable, Sendable {
        var name: String?
        var description: String?
        var schema: SchemaObject?
        /// Corral always enforces the schema, so strict or not gives the same output.
        var strict: Bool?

        init(from decoder: any Decoder) throws {
            try rejectUnknownFields(decoder, allowed: ["name", "description", "schema", "strict"])
            let c = try decoder.container(keyedBy: FieldKey.self)
            name = try c.decodeIfPresent(String.self, forKey: FieldKey("name"))
            description = try c.decodeIfPresent(String.self, forKey: FieldKey("description"))
            schema = try c.decodeIfPresent(SchemaObject.self, forKey: FieldKey("schema"))
            strict = try c.decodeIfPresent(Bool.self, forKey: FieldKey("strict"))
        }
    }

    init(from decoder: any Decoder) throws {
        try rejectUnknownFields(decoder, allowed: ["type", "json_schema", "schema"])
        let c = try decoder.container(keyedBy: FieldKey.self)
        type = try c.decode(String.self, forKey: FieldKey("type"))
        guard Self.types.contains(type) else {
            throw DecodingError.dataCorruptedError(forKey: FieldKey("type"), in: c,
                debugDescription: "must be one of \(Self.types.sorted().joined(separator: ", ")), not '\(type)'")
        }
        json_schema = try c.decodeIfPresent(JSONSchemaFormat.self, forKey: FieldKey("json_schema"))
        schema = try c.decodeIfPresent(SchemaObject.self, forKey: FieldKey("schema"))
    }
}

/// NIM's `nvext` extension object: the guided-decoding fields.
// Hand-written, not generated: it refuses unknown fields with a 400 naming them, which generated Codable types drop.
struct NVExt: Decodable, Sendable {
    var guided_json: SchemaOrString?
    var guided_regex: String?
    var guided_choice: [String]?
    var guided_grammar: String?
    /// Names a backend; Corral has one (llama.cpp's grammars), and the set of valid
    /// outputs does not depend on it, so it is accepted and not used.
    var guided_decoding_backend: String?
    /// NIM's limit on a thinking model's reasoning tokens.
    var max_thinking_tokens: Int?

    init(from decoder: any Decoder) throws {
        try rejectUnknownFields(decoder, allowed: ["guided_json", "guided_regex", "guided_choice", "guided_grammar",
                                                   "guided_decoding_backend", "max_thinking_tokens"])
        let c = try decoder.container(keyedBy: FieldKey.self)
        guided_json = try c.decodeIfPresent(SchemaOrString.self, forKey: FieldKey("guided_json"))
        guided_regex = try c.decodeIfPresent(String.self, forKey: FieldKey("guided_regex"))
        guided_choice = try c.decodeIfPresent([String].self, forKey: FieldKey("guided_choice"))
        guided_grammar = try c.decodeIfPresent(String.self, forKey: FieldKey("guided_grammar"))
        guided_decoding_backend = try c.decodeIfPresent(String.self, forKey: FieldKey("guided_decoding_backend"))
        max_thinking_tokens = try c.decodeIfPresent(Int.self, forKey: FieldKey("max_thinking_tokens"))
        if let budget = max_thinking_tokens, budget < 0 {
            throw DecodingError.dataCorruptedError(forKey: FieldKey("max_thinking_tokens"), in: c,
                debugDescription: "must be at least 0")
        }
    }
}

/// A JSON schema given as an object, or as JSON text in a string (NIM's `guided_json`).
// Hand-written, not generated: a oneOf of object and string would decode the schema into a tree nobody reads.
enum SchemaOrString: Decodable, Sendable {
    case object
    case text(String)

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let text = try? c.decode(String.self) {
            self = .text(text)
        } else {
            _ = try c.decode(SchemaObject.self)
            self = .object
        }
    }
}

/// A JSON Schema in the body, checked only to be an object. Its content is not decoded
/// here: a schema's key order sets the grammar's property order, and Swift's JSON types
/// lose it, so the text is cut from the body (`RawJSON`) and parsed once, by llama.cpp's
/// converter.
// Hand-written, not generated: the generator's free-form object type builds the whole tree, a parse thrown away.
struct SchemaObject: Decodable, Sendable {
    init(from decoder: any Decoder) throws {
        // The keyed container is the check: anything but an object is a type mismatch.
        _ = try decoder.container(keyedBy: FieldKey.self)
    }
}

/// Any member name, for reading which fields a JSON object has.
struct FieldKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Fields that would change the output and that Corral does not implement yet. Each is a
/// 400 naming it, never silently dropped.
let notYetImplementedFields: [String: String] = [
    "functions": "the deprecated functions API is not implemented; use tools",
    "function_call": "the deprecated functions API is not implemented; use tool_choice",
]

/// Throws a decoding error naming the first of vLLM's and SGLang's switches
/// (`GenerationOptions.atCorralsBehaviour`) set to anything but what Corral does.
func rejectChangedSwitches(_ decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: FieldKey.self)
    for (name, value) in GenerationOptions.atCorralsBehaviour.sorted(by: { $0.key < $1.key }) {
        guard let set = try c.decodeIfPresent(Bool.self, forKey: FieldKey(name)), set != value else { continue }
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [FieldKey(name)],
            debugDescription: "only \(value) is supported (what Corral always does); \(set) would change the output and is not implemented"))
    }
}

/// Throws a decoding error naming the first member of the object at `decoder` that is not
/// in `allowed`. JSONDecoder would otherwise drop it, and a request that asked for
/// something we do not do would get 200 and output that ignores it.
func rejectUnknownFields(_ decoder: any Decoder, allowed: Set<String>) throws {
    let c = try decoder.container(keyedBy: FieldKey.self)
    for key in c.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !allowed.contains(key.stringValue) {
        let why = notYetImplementedFields[key.stringValue]
            ?? "unknown field: Corral does not implement it, and does not ignore a field that could change the output"
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [key], debugDescription: why))
    }
}
