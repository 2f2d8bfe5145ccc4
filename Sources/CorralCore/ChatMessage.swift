/// One message of a chat conversation.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user`, `assistant` (or another role the template knows).
    public var role: String
    /// The message text.
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}
