/// What a model's chat template can do, for `/v1/metadata`.
public struct ChatCapabilities: Sendable, Equatable {
    /// The tool-call format a request with tools gets, as llama.cpp names it.
    public var toolCallFormat: String
    /// Whether the template describes tools itself; when not, llama.cpp's generic format
    /// tells the model about them.
    public var nativeTools: Bool
    /// Whether the template has a thinking section.
    public var thinking: Bool

    /// Creates capabilities.
    public init(toolCallFormat: String, nativeTools: Bool, thinking: Bool) {
        self.toolCallFormat = toolCallFormat
        self.nativeTools = nativeTools
        self.thinking = thinking
    }
}
