/// An error from the engine wrapper: a typed code, a human-readable message, and where
/// in our code it was raised (the pattern of swift-service-lifecycle's `ServiceGroupError`).
public struct LlamaError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a value callers can switch on without parsing messages.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case fileNotFound, notGGUF, corruptModel, contextCreationFailed
            case decodeFailed, noKVSpace, batchOverflow, chatTemplate, tokenization, invalidArgument
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The model path does not exist or cannot be read.
        public static let fileNotFound = Code(.fileNotFound)
        /// The file exists but is empty or does not start with the GGUF magic.
        public static let notGGUF = Code(.notGGUF)
        /// The file is GGUF, but truncated or otherwise unloadable.
        public static let corruptModel = Code(.corruptModel)
        /// The engine refused to create an inference context (usually out of memory).
        public static let contextCreationFailed = Code(.contextCreationFailed)
        /// `llama_decode` returned an error.
        public static let decodeFailed = Code(.decodeFailed)
        /// `llama_decode` found no KV cache room for the batch (its status 1): the caller
        /// can free some and retry.
        public static let noKVSpace = Code(.noKVSpace)
        /// A batch holds more tokens than the context's batch capacity.
        public static let batchOverflow = Code(.batchOverflow)
        /// The chat template is missing or could not be applied.
        public static let chatTemplate = Code(.chatTemplate)
        /// Tokenization failed.
        public static let tokenization = Code(.tokenization)
        /// An argument is outside what the engine accepts.
        public static let invalidArgument = Code(.invalidArgument)

        /// The code's name, for logs.
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A one-line explanation for people.
    public let message: String
    /// Where the error was raised.
    public let location: String

    init(_ code: Code, _ message: String, file: String, line: Int) {
        self.code = code
        self.message = message
        self.location = "\(file):\(line)"
    }

    /// The message with its code, for logs and CLI output.
    public var description: String { "\(code): \(message)" }

    static func fileNotFound(_ path: String, file: String = #fileID, line: Int = #line) -> LlamaError {
        LlamaError(.fileNotFound, "model file not found: \(path)", file: file, line: line)
    }

    static func notGGUF(_ path: String, _ why: String, file: String = #fileID, line: Int = #line) -> LlamaError {
        LlamaError(.notGGUF, "not a GGUF file (\(why)): \(path)", file: file, line: line)
    }

    static func corruptModel(_ path: String, _ detail: String, file: String = #fileID, line: Int = #line) -> LlamaError {
        LlamaError(.corruptModel, "truncated or corrupt GGUF: \(path)\(detail.isEmpty ? "" : " (\(detail))")", file: file, line: line)
    }

    static func contextCreationFailed(_ detail: String, file: String = #fileID, line: Int = #line) -> LlamaError {
        LlamaError(.contextCreationFailed, "could not create an inference context\(detail.isEmpty ? "" : ": \(detail)")", file: file, line: line)
    }

    static func decodeFailed(_ status: Int32, file: String = #fileID, line: Int = #line) -> LlamaError {
        let why = status == 1 ? "no KV cache slot for the batch" : status == 2 ? "aborted" : "engine error"
        return LlamaError(status == 1 ? .noKVSpace : .decodeFailed, "llama_decode returned \(status) (\(why))",
                          file: file, line: line)
    }

    static func batchOverflow(_ count: Int, capacity: Int, file: String = #fileID, line: Int = #line) -> LlamaError {
        LlamaError(.batchOverflow, "batch of \(count) tokens exceeds capacity \(capacity)", file: file, line: line)
    }

    static func chatTemplate(_ message: String, file: String = #fileID, line: Int = #line) -> LlamaError {
        LlamaError(.chatTemplate, message, file: file, line: line)
    }

    static func tokenization(_ message: String, file: String = #fileID, line: Int = #line) -> LlamaError {
        LlamaError(.tokenization, message, file: file, line: line)
    }

    static func invalidArgument(_ message: String, file: String = #fileID, line: Int = #line) -> LlamaError {
        LlamaError(.invalidArgument, message, file: file, line: line)
    }
}
