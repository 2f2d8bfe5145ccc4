import CorralCore

/// `POST /v1/embeddings`: OpenAI's fields, and NIM's `input_type` and `truncate`.
// Hand-written, not generated: the generated server collects a body with no size limit, and
// its types drop unknown fields, where this refuses them with a 400 naming them.
struct EmbeddingsRequest: Decodable, Sendable {
    /// The inputs: texts to tokenize, or token ids as given.
    enum Input: Sendable, Equatable {
        case texts([String])
        case tokens([[Int64]])
    }

    var input: Input
    var model: String?
    var encodingFormat: EncodingFormat
    /// NIM's retrieval role. The served models take no role prefix, so it changes nothing.
    var inputType: String?
    var truncate: Truncate

    /// How each vector is written.
    enum EncodingFormat: String, Sendable, CaseIterable {
        /// A JSON array of numbers.
        case float
        /// The little-endian float32 bytes, in base64 (the SDK's default: smaller and exact).
        case base64
    }

    /// NIM's handling of an input longer than one pass.
    enum Truncate: String, Sendable, CaseIterable {
        /// A 400 (`context_length_exceeded`).
        case none = "NONE"
        /// Drop tokens from the start.
        case start = "START"
        /// Drop tokens from the end.
        case end = "END"
    }

    /// OpenAI's limit on inputs per request.
    static let maxInputs = 2048
    static let inputTypes: Set<String> = ["query", "passage"]
    private static let allowed: Set<String> = [
        "input", "model", "encoding_format", "dimensions", "user", "input_type", "truncate",
    ]

    init(from decoder: any Decoder) throws {
        try rejectUnknownFields(decoder, allowed: Self.allowed)
        let c = try decoder.container(keyedBy: FieldKey.self)
        let key = FieldKey("input")
        input = try Self.input(c, key)
        let count = switch input {
        case .texts(let t): t.count
        case .tokens(let t): t.count
        }
        guard (1...Self.maxInputs).contains(count) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "give 1 to \(Self.maxInputs) inputs")
        }
        model = try c.decodeIfPresent(String.self, forKey: FieldKey("model"))
        encodingFormat = try Self.choice(c, "encoding_format", default: .float)
        truncate = try Self.choice(c, "truncate", default: .none)
        if c.contains(FieldKey("dimensions")), !(try c.decodeNil(forKey: FieldKey("dimensions"))) {
            _ = try c.decode(Int.self, forKey: FieldKey("dimensions"))
            throw DecodingError.dataCorruptedError(forKey: FieldKey("dimensions"), in: c,
                debugDescription: "the served model cannot shorten its vectors (it has no Matryoshka dimensions); leave dimensions out")
        }
        _ = try c.decodeIfPresent(String.self, forKey: FieldKey("user"))
        inputType = try c.decodeIfPresent(String.self, forKey: FieldKey("input_type"))
        if let type = inputType, !Self.inputTypes.contains(type) {
            throw DecodingError.dataCorruptedError(forKey: FieldKey("input_type"), in: c,
                debugDescription: "must be query or passage, not '\(type)'")
        }
    }

    /// A string, strings, token ids, or arrays of token ids; no input may be empty.
    private static func input(_ c: KeyedDecodingContainer<FieldKey>, _ key: FieldKey) throws -> Input {
        let empty = DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "an input must not be empty")
        if let text = try? c.decode(String.self, forKey: key) {
            guard !text.isEmpty else { throw empty }
            return .texts([text])
        }
        if let texts = try? c.decode([String].self, forKey: key) {
            guard !texts.contains(where: \.isEmpty) else { throw empty }
            return .texts(texts)
        }
        if let ids = try? c.decode([Int64].self, forKey: key), !ids.isEmpty { return .tokens([ids]) }
        if let lists = try? c.decode([[Int64]].self, forKey: key) {
            guard !lists.contains(where: \.isEmpty) else { throw empty }
            return .tokens(lists)
        }
        throw DecodingError.dataCorruptedError(forKey: key, in: c,
            debugDescription: "must be a string, an array of strings, an array of token ids, or an array of token-id arrays")
    }

    /// One of an enum's raw values, or the default when absent.
    private static func choice<E: RawRepresentable & CaseIterable>(_ c: KeyedDecodingContainer<FieldKey>, _ name: String,
                                                                   default value: E) throws -> E where E.RawValue == String {
        guard let raw = try c.decodeIfPresent(String.self, forKey: FieldKey(name)) else { return value }
        guard let parsed = E(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(forKey: FieldKey(name), in: c,
                debugDescription: "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), not '\(raw)'")
        }
        return parsed
    }
}
