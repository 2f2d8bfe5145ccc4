import CorralCore
import Hummingbird
import Logging

/// Logs one line per request: method, path, status, duration and request id. Bodies,
/// and so prompts and completions, are never logged.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let ms = elapsed.seconds * 1000
        // Probes arrive every few seconds; keep them out of the info log.
        let level: Logger.Level = request.uri.path.hasPrefix("/v1/health/") ? .debug : .info
        logger.log(level: level, "request", metadata: [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "ms": "\(Int(ms))", "request_id": "\(response.headers[RequestIDMiddleware<Context>.header] ?? "")",
        ])
        return response
    }
}
