/// A chat request as the model's template needs it: the conversation, the tools on offer
/// and how the reasoning of a thinking model is read.
public struct ChatRequest: Sendable, Equatable {
    /// The conversation so far.
    public var messages: [ChatMessage]
    /// Functions the model may call.
    public var tools: [ToolDefinition]
    /// Whether it must call one.
    public var toolChoice: ToolChoice
    /// Whether one turn may make several calls.
    public var parallelToolCalls: Bool
    /// Split a thinking model's reasoning out of the content (otherwise it stays inline).
    public var parseReasoning: Bool
    /// Let a thinking model think (templates that can turn it off read this).
    public var enableThinking: Bool
    /// OpenAI's `reasoning_effort`, handed to templates that read it (gpt-oss's does).
    public var reasoningEffort: String?

    /// Creates a request; by default no tools, reasoning split out, thinking on.
    public init(messages: [ChatMessage], tools: [ToolDefinition] = [], toolChoice: ToolChoice = .auto,
                parallelToolCalls: Bool = true, parseReasoning: Bool = true, enableThinking: Bool = true,
                reasoningEffort: String? = nil) {
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.parseReasoning = parseReasoning
        self.enableThinking = enableThinking
        self.reasoningEffort = reasoningEffort
    }
}

/// What rendering a chat request gives: the prompt, the grammar that holds tool calls to
/// their schemas, and a way to read the output back.
public struct ChatPlan: Sendable {
    /// The prompt text, ending with the assistant's turn opened.
    public var prompt: String
    /// The tool-call format's name, as llama.cpp names it.
    public var format: String
    /// The tool-call grammar, with its triggers when it is lazy; `nil` without tools.
    public var grammar: GrammarSpec?
    /// More strings that end the turn.
    public var additionalStops: [String]
    /// Special tokens that carry the format (a tool-call opener, say) and so are shown as text.
    public var shownSpecialTokens: Set<Token>
    /// The template's thinking section, when it has one.
    public var thinking: ThinkingSection?
    /// Whether the output needs parsing (tool calls or reasoning); when not, it is all content.
    public var needsParsing: Bool
    /// A fresh parser for one choice's output.
    public var makeParser: @Sendable () throws -> any ChatOutputParser

    /// Creates a plan.
    public init(prompt: String, format: String, grammar: GrammarSpec?, additionalStops: [String],
                shownSpecialTokens: Set<Token>, thinking: ThinkingSection?, needsParsing: Bool,
                makeParser: @escaping @Sendable () throws -> any ChatOutputParser) {
        self.prompt = prompt
        self.format = format
        self.grammar = grammar
        self.additionalStops = additionalStops
        self.shownSpecialTokens = shownSpecialTokens
        self.thinking = thinking
        self.needsParsing = needsParsing
        self.makeParser = makeParser
    }
}

/// A piece of a streamed assistant message.
public enum ChatDelta: Sendable, Equatable {
    /// Answer text.
    case content(String)
    /// Reasoning text.
    case reasoning(String)
    /// Part of tool call `index`: its id and name come once, in its first piece.
    case toolCall(index: Int, id: String?, name: String?, arguments: String)
}

/// An assistant message read from the output.
public struct ParsedChatMessage: Sendable, Equatable {
    /// The answer.
    public var content: String
    /// The reasoning, split out.
    public var reasoningContent: String
    /// The calls made.
    public var toolCalls: [ToolCall]

    /// Creates a message.
    public init(content: String, reasoningContent: String = "", toolCalls: [ToolCall] = []) {
        self.content = content
        self.reasoningContent = reasoningContent
        self.toolCalls = toolCalls
    }
}

/// Reads one choice's output as it grows. One stream uses it from one task at a time.
public protocol ChatOutputParser: AnyObject, Sendable {
    /// Adds generated text and returns what is new. `final` is set on the last call.
    /// - Throws: `ChatParseError` when the finished output does not match the format.
    func update(_ added: String, final: Bool) throws(ChatParseError) -> [ChatDelta]
    /// The message read so far.
    var message: ParsedChatMessage { get }
}

/// Output that does not match the template's tool-call format.
public struct ChatParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The parser's reason.
    public var message: String
    /// Wraps a reason.
    public init(_ message: String) { self.message = message }
    /// The reason.
    public var description: String { message }
}
