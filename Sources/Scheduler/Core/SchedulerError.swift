/// A typed reason a request could not complete. The HTTP layer maps each case to a status.
public enum SchedulerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The waiting queue is full (requests or tokens); retry after the given seconds.
    case overloaded(retryAfter: Int)
    /// Prompt plus `max_tokens` does not fit the model's context.
    case contextLengthExceeded(requested: Int, limit: Int)
    /// The request asked for something the scheduler cannot do.
    case invalidRequest(String)
    /// The request waited longer than its queue deadline.
    case queueTimeout
    /// The client went away.
    case cancelled
    /// The server is draining or stopped.
    case shuttingDown
    /// The engine failed while running the request.
    case engineFailure(String)

    /// One line for logs and error bodies.
    public var description: String {
        switch self {
        case .overloaded(let s): "server overloaded: the waiting queue is full; retry after \(s)s"
        case .contextLengthExceeded(let r, let l):
            "this model's maximum context length is \(l) tokens, but \(r) were requested (prompt plus max_tokens); the server sets it with NIM_MAX_MODEL_LEN (--max-model-len)"
        case .invalidRequest(let m): m
        case .queueTimeout: "request waited in the queue past its deadline"
        case .cancelled: "request cancelled"
        case .shuttingDown: "server is shutting down"
        case .engineFailure(let m): "engine failure: \(m)"
        }
    }
}
