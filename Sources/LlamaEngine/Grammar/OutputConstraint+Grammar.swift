import CLlamaCommon
public import CorralCore
import Glibc

extension OutputConstraint {
    /// The constraint as GBNF.
    /// - Throws: `ConstraintError` with the converter's reason when the schema, regex or
    ///   choice list cannot become a grammar. A GBNF grammar is only parsed later, against
    ///   the vocabulary, by `LlamaModel.grammars`.
    public func gbnf() throws(ConstraintError) -> String {
        switch self {
        case .jsonObject:
            return try Self.convert { corral_json_schema_to_gbnf(#"{"type":"object"}"#, &$0) }
        case .jsonSchema(let schema):
            // The shim parses the schema once, and refuses a `pattern` the converter would
            // quietly widen to "any string" (it would accept output the schema forbids).
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
