/// A limit on what a generation may output, enforced token by token by a grammar in the
/// engine's sampler (`LlamaEngine` turns each kind into GBNF with llama.cpp's converter).
public enum OutputConstraint: Sendable, Hashable {
    /// Any JSON object (OpenAI's `json_object`).
    case jsonObject
    /// A JSON document valid under this JSON Schema, given as JSON text.
    case jsonSchema(String)
    /// Text that fully matches this regex.
    case regex(String)
    /// Exactly one of these strings.
    case choice([String])
    /// A GBNF grammar, as llama.cpp's grammar sampler reads it (its start rule is `root`).
    case grammar(String)
}

/// Why a constraint cannot be enforced: the converter's or the grammar parser's reason.
public struct ConstraintError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One line, fit for a 400 response.
    public var message: String

    /// Wraps a reason.
    public init(_ message: String) { self.message = message }

    /// The reason.
    public var description: String { message }
}
