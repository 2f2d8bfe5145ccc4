import Foundation
import Hummingbird

/// Requires `Authorization: Bearer <key>` with one of the configured keys on every route
/// except the health probes, and the metrics unless `protectMetrics`. Keys are compared in
/// constant time, against the keys file in force (it is re-read on SIGHUP).
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: KeyStore
    let protectMetrics: Bool

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let open = path.hasPrefix("/v1/health/") || path == "/health" || (!protectMetrics && (path == "/v1/metrics" || path == "/metrics"))
        if open { return try await next(request, context) }
        guard keys.tenant(for: request) != nil else {
            throw APIError(.unauthorized, "missing or invalid API key (send Authorization: Bearer <key>)",
                           type: "authentication_error", code: "invalid_api_key")
        }
        return try await next(request, context)
    }
}
