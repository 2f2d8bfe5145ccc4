/// The routes that queue work on the scheduler: the `endpoint` label of the request and
/// tenant metrics, so each API's traffic and failures can be told apart. A fixed set keeps
/// the series bounded.
public enum RequestEndpoint: String, Sendable, CaseIterable {
    /// `POST /v1/chat/completions`.
    case chat = "/v1/chat/completions"
    /// `POST /v1/completions`.
    case completions = "/v1/completions"
    /// `POST /v1/responses`.
    case responses = "/v1/responses"
    /// `POST /v1/embeddings`.
    case embeddings = "/v1/embeddings"

    /// The label of a request queued from `path`; `other` for a path outside the set (a
    /// library caller's, or a router alias).
    static func label(_ path: String) -> String {
        RequestEndpoint(rawValue: path)?.rawValue ?? "other"
    }
}
