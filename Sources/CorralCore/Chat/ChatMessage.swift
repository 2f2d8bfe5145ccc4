/// One message of a chat conversation, as the chat template reads it.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user`, `assistant`, `tool` (or another role the template knows).
    public var role: String
    /// The message text; empty when an assistant turn holds only tool calls.
    public var content: String
    /// The calls an assistant turn made.
    public var toolCalls: [ToolCall]
    /// For a `tool` message: the id of the call it answers.
    public var toolCallID: String?
    /// For an assistant turn: the reasoning it showed, for templates that render it.
    public var reasoningContent: String?

    /// Creates a message.
    public init(role: String, content: String, toolCalls: [ToolCall] = [], toolCallID: String? = nil,
                reasoningContent: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.reasoningContent = reasoningContent
    }
}

/// A function the model may call (OpenAI's `tools[].function`).
public struct ToolDefinition: Sendable, Equatable {
    /// The function's name.
    public var name: String
    /// What it does, for the model.
    public var description: String?
    /// The JSON Schema of its arguments, as JSON text with the client's key order (the order
    /// the grammar lays properties out in); `nil` for a function without parameters.
    public var parameters: String?

    /// Creates a definition.
    public init(name: String, description: String? = nil, parameters: String? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// One call of a function, made by the model or replayed in the history.
public struct ToolCall: Sendable, Equatable {
    /// Unique within the conversation; a `tool` message names it to answer.
    public var id: String
    /// The function called.
    public var name: String
    /// The arguments, as JSON text.
    public var arguments: String

    /// Creates a call.
    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// Whether and how the model must call a tool (OpenAI's `tool_choice`).
public enum ToolChoice: Sendable, Equatable {
    /// Never; the tools are still shown to the model.
    case none
    /// The model decides; a call, once begun, is held to the grammar.
    case auto
    /// At least one call, from the first token.
    case required
    /// Exactly this function, from the first token.
    case function(String)

    /// Whether one named function must be called (then once, not in parallel).
    public var isNamedFunction: Bool {
        if case .function = self { return true }
        return false
    }
}
