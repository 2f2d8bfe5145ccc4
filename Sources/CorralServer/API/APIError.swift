public import Foundation
public import Hummingbird
import OpenAPIRuntime
import CorralCore
public import Scheduler

/// An error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with
/// the HTTP status it maps to. Handlers throw these for every client-caused failure, so
/// bad input never becomes a 500.
public struct APIError: HTTPResponseError, Sendable {
    /// HTTP status.
    public let status: HTTPResponse.Status
    /// Human-readable explanation.
    public let message: String
    /// OpenAI error type, e.g. `invalid_request_error`.
    public let type: String
    /// The offending parameter, when there is one.
    public let param: String?
    /// A machine-readable code, e.g. `context_length_exceeded`.
    public let code: String?
    /// Extra headers (Retry-After).
    public var extraHeaders: HTTPFields = [:]
    /// The scheduler already counted this failure in the metrics (it was queued).
    var countedByScheduler = false

    /// Creates an error.
    public init(_ status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error",
                param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    /// 400 for a bad parameter.
    public static func badRequest(_ message: String, param: String? = nil) -> APIError {
        APIError(.badRequest, message, param: param)
    }

    /// 404 for a model this server does not serve.
    public static func modelNotFound(_ name: String) -> APIError {
        APIError(.notFound, "The model `\(name)` does not exist.", param: "model", code: "model_not_found")
    }

    /// 503 while loading or draining.
    public static func unavailable(_ message: String) -> APIError {
        APIError(.serviceUnavailable, message, type: "service_unavailable", code: "service_unavailable")
    }

    /// Maps a scheduler error to its HTTP form.
    /// - Parameter promptParam: the field that holds the prompt (`messages` for chat,
    ///   `prompt` for completions), named by `context_length_exceeded`.
    public init(_ error: SchedulerError, promptParam: String = "messages") {
        switch error {
        case .overloaded(let seconds):
            self.init(.tooManyRequests, error.description, type: "rate_limit_error", code: "overloaded")
            extraHeaders[.retryAfter] = String(seconds)
        case .contextLengthExceeded:
            self.init(.badRequest, error.description, param: promptParam, code: "context_length_exceeded")
        case .invalidRequest(let message):
            self.init(.badRequest, message)
        case .queueTimeout:
            self.init(.serviceUnavailable, error.description, type: "timeout_error", code: "queue_timeout")
        case .cancelled:
            self.init(.init(code: 499, reasonPhrase: "Client Closed Request"), error.description, code: "cancelled")
        case .shuttingDown:
            self.init(.serviceUnavailable, error.description, type: "service_unavailable", code: "shutting_down")
        case .engineFailure:
            self.init(.internalServerError, error.description, type: "server_error", code: "engine_failure")
        }
    }

    /// The OpenAI-shaped form of anything a route threw: our own errors as they are, and
    /// the generated server's `ServerError`s unwrapped (a handler's `APIError` inside) or
    /// mapped by the status the OpenAPI runtime gives them (400 for a request it could not
    /// parse, 415 for a wrong content type). Nil for anything else.
    public init?(translating error: any Error) {
        if let error = error as? APIError {
            self = error
            return
        }
        guard let error = error as? ServerError else { return nil }
        if let inner = error.underlyingError as? APIError {
            self = inner
        } else if (400..<500).contains(error.httpStatus.code) || error.underlyingError is DecodingError {
            let status = (400..<500).contains(error.httpStatus.code) ? error.httpStatus : .badRequest
            self.init(status, "invalid request: \(error.causeDescription)")
        } else {
            return nil
        }
    }

    /// The JSON body.
    var body: [String: [String: String?]] {
        ["error": ["message": message, "type": type, "param": param, "code": code]]
    }

    /// The body as JSON bytes.
    public var json: Data {
        (try? JSONEncoder().encode(body)) ?? Data("{\"error\":{\"message\":\"error\"}}".utf8)
    }

    /// The HTTP response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }
}
