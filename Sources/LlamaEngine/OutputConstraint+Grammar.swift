import CLlama
import CLlamaCommon
public import CorralCore
import Foundation

extension OutputConstraint {
    /// The constraint as GBNF.
    /// - Throws: `ConstraintError` with the converter's reason when the schema, regex or
    ///   choice list cannot become a grammar. A GBNF grammar is only parsed later, by
    ///   `LlamaModel.checkGrammar`, which needs the vocabulary.
    public func gbnf() throws(ConstraintError) -> String {
        switch self {
        case .jsonObject:
            return try Self.convert { corral_json_schema_to_gbnf(#"{"type":"object"}"#, &$0) }
        case .jsonSchema(let schema):
            try Self.checkPatterns(inSchema: schema)
            return try Self.convert { corral_json_schema_to_gbnf(schema, &$0) }
        case .regex(let pattern):
            return try Self.convert { corral_regex_to_gbnf(pattern, &$0) }
        case .choice(let choices):
            guard !choices.isEmpty else { throw ConstraintError("needs at least one choice") }
            let cStrings = choices.map { strdup($0) }
            defer { cStrings.forEach { free($0) } }
            let pointers = cStrings.map { UnsafePointer<CChar>($0) }
            return try Self.convert { out in pointers.withUnsafeBufferPointer { corral_choice_to_gbnf($0.baseAddress, $0.count, &out) } }
        case .grammar(let text):
            guard !text.allSatisfy(\.isWhitespace) else { throw ConstraintError("the grammar is empty") }
            return text
        }
    }

    /// Calls one shim function and turns its status and text into a result. The converter
    /// prints warnings that quote the schema, so stderr is captured meanwhile.
    private static func convert(_ call: (inout UnsafeMutablePointer<CChar>?) -> Int32) throws(ConstraintError) -> String {
        var out: UnsafeMutablePointer<CChar>?
        let status = EngineStderr.capturing { call(&out) }.value
        defer { corral_common_free(out) }
        let text = out.map { String(cString: $0) } ?? "out of memory"
        guard status == 0 else { throw ConstraintError(text) }
        return text
    }

    /// The converter turns a `pattern` it cannot express into "any string" with only a
    /// warning on stderr, which would accept output the schema forbids. Every pattern in
    /// the schema is therefore converted on its own first, and one that fails is an error.
    private static func checkPatterns(inSchema schema: String) throws(ConstraintError) {
        guard let root = try? JSONSerialization.jsonObject(with: Data(schema.utf8), options: [.fragmentsAllowed]) else {
            throw ConstraintError("the schema is not valid JSON")
        }
        var pending: [Any] = [root]
        while let node = pending.popLast() {
            if let object = node as? [String: Any] {
                if let pattern = object["pattern"] as? String {
                    do { _ = try convert { corral_regex_to_gbnf(pattern, &$0) } } catch {
                        throw ConstraintError("pattern \(pattern) is not supported: \(error.message)")
                    }
                }
                pending.append(contentsOf: object.values)
            } else if let array = node as? [Any] {
                pending.append(contentsOf: array)
            }
        }
    }
}

extension OutputConstraint {
    /// The largest `{m,n}` bound a grammar may use.
    public static let maxRepetition = 4096

    /// llama.cpp's grammar parser expands `x{m,n}` into n copies of `x`, so one schema
    /// with `"maxLength": 1000000000` would exhaust memory. Bounds past `maxRepetition`
    /// are refused; no output that long fits a context anyway.
    static func checkRepetitions(_ gbnf: String) throws(ConstraintError) {
        // Skips "literals", [classes] and # comments, where braces and digits are text.
        enum State { case rules, literal, characterClass, comment }
        var state = State.rules, escaped = false, inBraces = false, number = 0
        for byte in gbnf.utf8 {
            switch state {
            case .literal, .characterClass:
                let close = state == .literal ? UInt8(ascii: "\"") : UInt8(ascii: "]")
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == close { state = .rules }
            case .comment:
                if byte == UInt8(ascii: "\n") { state = .rules }
            case .rules:
                switch byte {
                case UInt8(ascii: "\""): state = .literal
                case UInt8(ascii: "["): state = .characterClass
                case UInt8(ascii: "#"): state = .comment
                case UInt8(ascii: "{"): inBraces = true; number = 0
                case UInt8(ascii: "}"): inBraces = false
                case UInt8(ascii: ","): number = 0
                case UInt8(ascii: "0")...UInt8(ascii: "9") where inBraces:
                    number = number * 10 + Int(byte - UInt8(ascii: "0"))
                    if number > maxRepetition {
                        throw ConstraintError("a repetition bound exceeds \(maxRepetition) (from maxLength, maxItems or {m,n})")
                    }
                default: break
                }
            }
        }
    }
}

extension LlamaModel {
    /// Parses `gbnf` against this model's vocabulary, as the sampler will.
    /// - Throws: `ConstraintError` with the parser's reason when llama.cpp rejects it.
    public func checkGrammar(_ gbnf: String) throws(ConstraintError) {
        try OutputConstraint.checkRepetitions(gbnf)
        _ = EngineLog.takeLastError()
        let (sampler, printed) = EngineStderr.capturing(dropping: gbnf) { llama_sampler_init_grammar(vocab, gbnf, "root") }
        guard let sampler else {
            let logged = EngineLog.takeLastError()
            let detail = printed.isEmpty ? logged : printed
            throw ConstraintError("not a valid GBNF grammar" + (detail.isEmpty ? "" : ": \(detail)"))
        }
        llama_sampler_free(sampler)
    }
}
